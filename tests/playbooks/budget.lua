-- Test playbook: a runaway step hits the instruction budget; pcall cannot hide it.
return {
  name = "budget",
  handles = { { finding_type = "^Impact:EC2/Test.Budget" } },
  steps = {
    { name = "spin", run = function(ctx) pcall(function() while true do end end) end },
    { name = "after", run = function(ctx) end },
  },
}
