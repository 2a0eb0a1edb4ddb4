-- check: a playbook needs a name
return {
  handles = { { resource_type = "Instance" } },
  steps = { { name = "a", run = function(ctx) end } },
}
