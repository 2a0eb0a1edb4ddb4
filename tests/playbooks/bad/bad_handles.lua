-- check: handles problems
return {
  name = "bad_handles",
  handles = {
    { resourceType = "Instance" },
    { finding_type = "[unclosed" },
    "Instance",
  },
  steps = { { name = "a", run = function(ctx) end } },
}
