-- Trick (budget): a step that loops over work the VM does in C (comparing
-- two equal 20 MiB strings) without a charged call: ends by the instruction
-- budget within seconds of CPU, not by the wall clock two minutes later.
return {
  name = "ec2",
  handles = { { resource_type = "Instance" } },
  steps = { { name = "spin", run = function(ctx)
    local a, b = string.rep("x", 20 * 1024 * 1024), string.rep("x", 20 * 1024 * 1024)
    local n = 0
    while true do if a == b then n = n + 1 end end
  end } },
}
