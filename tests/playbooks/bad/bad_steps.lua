-- check: step problems
return {
  name = "bad_steps",
  handles = { { resource_type = "Instance" } },
  steps = {
    { name = "twice", run = function(ctx) end },
    { name = "twice", run = function(ctx) end },
    { run = function(ctx) end },
    { name = "no_run" },
    { name = "typo", critcal = true, run = function(ctx) end },
    { name = "Bad Name", run = function(ctx) end },
    { name = "bad_when", when = true, run = function(ctx) end },
  },
}
