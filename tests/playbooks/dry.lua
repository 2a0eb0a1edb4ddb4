-- Test playbook: what a dry run emulates so that the playbook needs no
-- ctx.dry_run branch: a sleep, bounded waits, a security group it would
-- create read back, a conditional write. The same code runs live.
local config = require "config"

local function count(list) return list and #list or 0 end

return {
  name = "dry",
  handles = { { finding_type = "^Impact:EC2/Test.Dry" } },
  steps = {
    { name = "dwell",
      why = "a sleep: planned, not slept, in a dry run",
      run = function(ctx)
        sleep(0.5)
      end },
    { name = "wait_met",
      why = "a bounded wait whose condition a dry run cannot read: planned as met",
      run = function(ctx)
        local polls = 0
        local inv = aws.wait(1, 0.5, function()
          polls = polls + 1
          local r = ssm.get_command_invocation { CommandId = "c-1", InstanceId = "i-0123456789abcdef0" }
          return r.Status == "Success" and r or nil
        end)
        ctx.save("wait", { polls = polls, got = inv ~= nil, status = inv and inv.Status or "none" })
      end },
    { name = "wait_value",
      why = "a wait whose check returns a value of its own: that value",
      run = function(ctx)
        ctx.save("value", aws.wait(5, 1, function() return "ready" end))
      end },
    { name = "group",
      why = "a planned group read back: as AWS makes a new one, with the planned rules applied",
      run = function(ctx)
        local g = ec2.create_security_group { GroupName = "g", Description = "d", VpcId = "vpc-1",
          TagSpecifications = { { ResourceType = "security-group", Tags = { { Key = "deadbolt:group", Value = "untrack" } } } } }
        local new = ec2.describe_security_groups { GroupIds = { g.GroupId } }.SecurityGroups[1]
        ec2.authorize_security_group_egress { GroupId = g.GroupId, IpPermissions = {
          { IpProtocol = "-1", Ipv6Ranges = { { CidrIpv6 = "::/0" } } } } }
        ec2.revoke_security_group_egress { GroupId = g.GroupId, IpPermissions = {
          { IpProtocol = "-1", IpRanges = { { CidrIp = "0.0.0.0/0" } } } } }
        local after = ec2.describe_security_groups { GroupIds = { g.GroupId, "sg-0123456789abcdef0" } }.SecurityGroups
        local last = after[#after]
        ctx.save("group", { id = g.GroupId, new_in = count(new.IpPermissions),
          new_out = new.IpPermissionsEgress[1].IpProtocol .. " " .. new.IpPermissionsEgress[1].IpRanges[1].CidrIp,
          vpc = new.VpcId, tag = new.Tags[1].Value, groups = #after, last = last.GroupId,
          out = count(last.IpPermissionsEgress),
          v6 = last.IpPermissionsEgress[1] and last.IpPermissionsEgress[1].Ipv6Ranges[1].CidrIpv6 or "none" })
        new.IpPermissions[1] = "changed by the playbook" -- a copy: the plan's group is not touched
        local again = ec2.describe_security_groups { GroupIds = { g.GroupId } }.SecurityGroups[1]
        ctx.save("again", count(again.IpPermissions))
      end },
    { name = "lock",
      why = "a conditional write: planned as succeeding",
      run = function(ctx)
        local ok, err = pcall(s3.put_object, { Bucket = ctx.env.ARTIFACT_BUCKET, Body = "{}", IfNoneMatch = "*",
          Key = string.format("locks/%s/%s/i-0123456789abcdef0/w1.0", ctx.account, ctx.region) })
        ctx.save("locked", ok or tostring(err))
      end },
    { name = "wait_write",
      why = "a check that writes (it should not): planned once, not once a try",
      run = function(ctx)
        local r = aws.wait(0.2, 0.1, function()
          ec2.create_tags { Resources = { "i-0123456789abcdef0" }, Tags = { { Key = config.status_tag, Value = "waiting" } } }
          local inv = ssm.get_command_invocation { CommandId = "c-1", InstanceId = "i-0123456789abcdef0" }
          return inv.Status == "Failed" and inv or nil
        end)
        ctx.save("failed", r and r.Status or "none")
      end },
  },
}
