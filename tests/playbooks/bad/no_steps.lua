-- check: a playbook without steps
return { name = "no_steps", handles = { { resource_type = "Instance" } } }
