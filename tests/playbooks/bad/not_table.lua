-- check: a playbook file must return a table
return 42
