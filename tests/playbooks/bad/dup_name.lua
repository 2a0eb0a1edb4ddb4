-- check: two playbooks with one name (forbidden.lua is also "forbidden")
return {
  name = "forbidden",
  handles = { { resource_type = "Instance" } },
  steps = { { name = "a", run = function(ctx) end } },
}
