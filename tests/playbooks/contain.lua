-- Test playbook: every step succeeds (contained; planned in a dry run).
local config = require "config"
local util = require "lib.util"

return {
  name = "contain",
  handles = {
    { finding_type = "^Execution:EC2/MaliciousFile", skip = "malware scan findings are answered by hand" },
    { resource_type = "Instance" },
  },
  steps = {
    { name = "describe",
      why = "a read: sent in a dry run too",
      run = function(ctx)
        local r = ec2.describe_instances{ InstanceIds = { util.instance_id(ctx) } }
        ctx.state.instance = r.Reservations[1].Instances[1]
        ctx.save("state_before", { state = ctx.state.instance.State.Name,
                                   SecretAccessKey = "must not reach the journal" })
      end },
    { name = "tag",
      why = "a write: recorded, not sent, in a dry run",
      run = function(ctx)
        local r = ec2.create_tags{ Resources = { util.instance_id(ctx) },
                                   Tags = { { Key = config.status_tag, Value = "contained" } } }
        ctx.state.tag_result = type(r)
      end },
    { name = "never",
      why = "a when guard that says no",
      when = function(ctx) return false end,
      run = function(ctx) error("a step whose when returned false ran") end },
    { name = "protect",
      why = "a second write, to see the order of the plan",
      when = function(ctx) return ctx.state.instance ~= nil end,
      run = function(ctx)
        ctx.save("DisableApiTermination", false)
        ec2.modify_instance_attribute{ InstanceId = util.instance_id(ctx),
                                       DisableApiTermination = { Value = true } }
      end },
    { name = "report",
      why = "what a step sees: ctx fields and the steps so far",
      run = function(ctx)
        local seen = {}
        for i, s in ipairs(ctx.steps) do seen[i] = s.name .. "=" .. s.status end
        log("info", "steps so far: " .. table.concat(seen, ","))
        ctx.save("ctx", { id = ctx.id, type = ctx.type, severity = ctx.severity,
                          region = ctx.region, account = ctx.account, partition = ctx.partition,
                          dry_run = ctx.dry_run, bucket = ctx.env.ARTIFACT_BUCKET or "none",
                          path = ctx.env.PATH or "none", seen = table.concat(seen, ","),
                          tag_result = ctx.state.tag_result })
      end },
  },
}
