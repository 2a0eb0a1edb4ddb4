-- Test playbook: a critical step fails on an AWS error; the rest does not run.
return {
  name = "critical",
  handles = { { finding_type = "^Impact:EC2/Test.Critical" } },
  steps = {
    { name = "before", run = function(ctx) end },
    { name = "caught",
      why = "an AWS error is a table a step can catch",
      run = function(ctx)
        local ok, e = pcall(ec2.modify_instance_attribute,
                            { InstanceId = "i-0123456789abcdef0", DisableApiStop = { Value = true } })
        assert(not ok and e.code == "UnauthorizedOperation" and e.status == 403, "not the AWS error")
        ctx.save("caught", e.code)
      end },
    { name = "isolate", critical = true,
      run = function(ctx)
        ec2.modify_instance_attribute{ InstanceId = "i-0123456789abcdef0", DisableApiStop = { Value = true } }
      end },
    { name = "after", run = function(ctx) error("ran after a critical failure") end },
  },
}
