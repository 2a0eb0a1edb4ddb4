-- callloop — the playbook of `make bench`'s "client calls/s through a
-- playbook": one step calling ec2.describe_instances 250 times (under the
-- sandbox's budget of 500 AWS calls a finding). Not a response playbook.
return {
  name = "callloop",
  handles = { { resource_type = "Instance" } },
  steps = {
    {
      name = "calls",
      why = "the cost of a call made from Lua, journaled, as every playbook call is",
      run = function()
        for _ = 1, 250 do
          ec2.describe_instances {}
        end
      end,
    },
  },
}
