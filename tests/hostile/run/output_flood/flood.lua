-- Trick (bounded output): log lines and planned writes far past the output
-- limit of a finding (16 MiB by default), in a dry run.
return {
  name = "flood",
  handles = { { resource_type = "Instance" } },
  steps = {
    { name = "logs", run = function(ctx)
        local line = string.rep("L", 8000)
        for i = 1, 3000 do log("info", line) end
      end },
    { name = "writes", run = function(ctx)
        local value = string.rep("v", 200 * 1024)
        for i = 1, 450 do
          ec2.create_tags { Resources = { "i-0123456789abcdef0" }, Tags = { { Key = "k" .. i, Value = value } } }
        end
      end },
  },
}
