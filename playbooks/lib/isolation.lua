-- lib/isolation — the security groups that isolate an EC2 instance, one of
-- each per instance and VPC:
--   the isolation group   no rules at all: nothing in, nothing out
--   the untrack group     all traffic in and out (IPv4 and IPv6): the first
--                         step of the two-step move, because flows a group
--                         allows that way are not tracked, so moving to the
--                         isolation group next cuts connections that were
--                         open (a tracked connection would outlive it)
-- Both are found again by name (unique in a VPC: two runs at once cannot make
-- two), tagged with the instance id, and never deleted. While forensic
-- commands run, the isolation group gets one egress rule, tcp/443 to
-- config.forensics.egress, and loses it again after.
--
-- Each group also carries GROUP_TAG = "isolation" or "untrack": the sandbox
-- lets rules be authorised or revoked, and ENIs be moved, only on groups
-- that AWS shows with that tag (sandbox/rules.c), which no playbook can put
-- on any other resource. Its isolation group's egress can only be tcp/443 to
-- endpoint groups or prefix lists, never an address range.

local config = require "config"
local aws = require "lib.aws"
local notify = require "lib.notify"

local cfg = config.ec2
local forensics = config.forensics

local M = {}

local GROUP_TAG = "deadbolt:group" -- fixed: sandbox/rules.c knows deadbolt's groups by it

local ALL_V4 = { IpProtocol = "-1", IpRanges = { { CidrIp = "0.0.0.0/0" } } }
local ALL_V6 = { IpProtocol = "-1", Ipv6Ranges = { { CidrIpv6 = "::/0" } } }

-- Whether the rules allow all traffic from/to anywhere, IPv4 (v6 false) or IPv6.
local function allows_all(permissions, v6)
  for _, p in ipairs(permissions or {}) do
    local ranges = p.IpRanges
    if v6 then
      ranges = p.Ipv6Ranges
    end
    if p.IpProtocol == "-1" then
      for _, r in ipairs(ranges or {}) do
        if r.CidrIpv6 == "::/0" or r.CidrIp == "0.0.0.0/0" then
          return true
        end
      end
    end
  end
  return false
end

-- Calls fn(params); an error with the code `tolerated` means another run
-- for the same instance did it first.
local function unless_done(fn, params, tolerated)
  local ok, err = aws.try(fn, params)
  if not ok and not aws.is(err, tolerated) then
    error(err)
  end
end

-- The group named name in vpc, created (tagged) when there is none. Returns
-- it as DescribeSecurityGroups gives it.
local function find_or_create(ctx, vpc, name, role, purpose)
  local function find()
    local found = ec2.describe_security_groups {
      Filters = { { Name = "vpc-id", Values = { vpc } }, { Name = "group-name", Values = { name } } },
    }
    return found.SecurityGroups[1]
  end
  local group = find()
  if group then
    return group
  end
  local created, err = aws.try(ec2.create_security_group, {
    GroupName = name,
    VpcId = vpc,
    Description = string.format("deadbolt: %s for %s", purpose, ctx.state.instance_id),
    TagSpecifications = { {
      ResourceType = "security-group",
      Tags = {
        { Key = "Name", Value = name },
        { Key = cfg.isolation_tag, Value = ctx.state.instance_id },
        { Key = GROUP_TAG, Value = role },
        { Key = cfg.tags.finding_id or "deadbolt:finding-id", Value = ctx.id },
      },
    } },
  })
  if not created then
    if aws.is(err, "InvalidGroup.Duplicate") then -- another run made it just now
      return find()
    end
    error(err)
  end
  notify.note(ctx, "created security group %s (%s) in %s", created.GroupId, name, vpc)
  ctx.state.created_groups = ctx.state.created_groups or {}
  ctx.state.created_groups[#ctx.state.created_groups + 1] = { GroupId = created.GroupId, GroupName = name, VpcId = vpc }
  ctx.save("created_security_groups", ctx.state.created_groups)
  if ctx.dry_run then -- what a new group has: all IPv4 egress, nothing else
    return { GroupId = created.GroupId, IpPermissions = {}, IpPermissionsEgress = { ALL_V4 } }
  end
  return ec2.describe_security_groups({ GroupIds = { created.GroupId } }).SecurityGroups[1]
end

-- The isolation group of vpc, with no rule left in it (a new group's default
-- egress rule, or a forensic rule a stopped run left behind).
function M.isolation_group(ctx, vpc)
  local name = string.format(cfg.isolation_group_name, ctx.state.instance_id)
  local group = find_or_create(ctx, vpc, name, "isolation", "isolation, no rules")
  if #(group.IpPermissionsEgress or {}) > 0 then
    unless_done(ec2.revoke_security_group_egress,
      { GroupId = group.GroupId, IpPermissions = group.IpPermissionsEgress }, "InvalidPermission.NotFound")
  end
  if #(group.IpPermissions or {}) > 0 then -- deadbolt never adds any: someone did
    notify.note(ctx, "WARNING: isolation group %s has inbound rules someone added: remove them", group.GroupId)
  end
  return group.GroupId
end

-- The untrack group of vpc, allowing all traffic both ways.
function M.untrack_group(ctx, vpc)
  local name = string.format(cfg.untrack_group_name, ctx.state.instance_id)
  local group = find_or_create(ctx, vpc, name, "untrack", "first step of isolation, allows all to untrack connections")
  local ingress, egress = {}, {}
  if not allows_all(group.IpPermissions, false) then ingress[#ingress + 1] = ALL_V4 end
  if not allows_all(group.IpPermissions, true) then ingress[#ingress + 1] = ALL_V6 end
  if not allows_all(group.IpPermissionsEgress, false) then egress[#egress + 1] = ALL_V4 end
  if not allows_all(group.IpPermissionsEgress, true) then egress[#egress + 1] = ALL_V6 end
  if #ingress > 0 then
    unless_done(ec2.authorize_security_group_ingress,
      { GroupId = group.GroupId, IpPermissions = ingress }, "InvalidPermission.Duplicate")
  end
  if #egress > 0 then
    unless_done(ec2.authorize_security_group_egress,
      { GroupId = group.GroupId, IpPermissions = egress }, "InvalidPermission.Duplicate")
  end
  return group.GroupId
end

-- The forensic egress rule: tcp/443 to config.forensics.egress.
local function forensic_rule()
  local rule = { IpProtocol = "tcp", FromPort = 443, ToPort = 443 }
  for _, key in ipairs({ "IpRanges", "Ipv6Ranges", "PrefixListIds", "UserIdGroupPairs" }) do
    for i, destination in ipairs(forensics.egress[key] or {}) do
      rule[key] = rule[key] or {}
      rule[key][i] = { Description = forensics.egress_description }
      for k, v in pairs(destination) do
        rule[key][i][k] = v
      end
    end
  end
  return rule
end

function M.open_forensic_egress(ctx, group_id)
  unless_done(ec2.authorize_security_group_egress,
    { GroupId = group_id, IpPermissions = { forensic_rule() } }, "InvalidPermission.Duplicate")
  notify.note(ctx, "forensic egress tcp/443 opened in %s while the commands run", group_id)
end

-- Takes every egress rule out of the isolation groups again.
function M.close_forensic_egress(ctx, group_ids)
  if #group_ids == 0 then
    return
  end
  if ctx.dry_run then -- the groups as they would be: only the forensic rule
    for _, id in ipairs(group_ids) do
      ec2.revoke_security_group_egress { GroupId = id, IpPermissions = { forensic_rule() } }
    end
    return
  end
  local r = ec2.describe_security_groups { GroupIds = group_ids }
  aws.each(r.SecurityGroups or {}, function(group)
    if #(group.IpPermissionsEgress or {}) > 0 then
      unless_done(ec2.revoke_security_group_egress,
        { GroupId = group.GroupId, IpPermissions = group.IpPermissionsEgress }, "InvalidPermission.NotFound")
      notify.note(ctx, "forensic egress closed in %s: the isolation group has no rules again", group.GroupId)
    end
  end)
end

return M
