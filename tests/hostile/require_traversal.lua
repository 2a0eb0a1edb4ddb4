-- Trick: require a file outside the playbook directory.
return require("../etc/passwd")
