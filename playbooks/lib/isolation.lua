-- lib/isolation — the security groups that isolate an EC2 instance:
--   the isolation group   one per instance and VPC, no rules at all: nothing
--                         in, nothing out
--   the untrack group     one per VPC, shared by every instance deadbolt
--                         isolates there: all traffic in and out (IPv4 and
--                         IPv6), the first step of the two-step move, because
--                         flows a group allows that way are not tracked, so
--                         moving to the isolation group next cuts connections
--                         that were open (a tracked connection would outlive
--                         it). It is the same for every instance, so a VPC
--                         has one, not one per instance (security groups per
--                         VPC are limited: 2,500 by default).
-- Both are found again by name (unique in a VPC: two runs at once cannot make
-- two), all of them in one call, and never deleted. The isolation group is
-- tagged with the instance id (config.ec2.isolation_tag); the untrack group
-- with the VPC's. While forensic commands run, the isolation group gets one
-- egress rule, tcp/443 to config.forensics.egress, and loses it again after.
--
-- Each group also carries GROUP_TAG = "isolation" or "untrack": the sandbox
-- lets rules be authorised or revoked, and ENIs be moved, only on groups
-- that AWS shows with that tag (sandbox/rules.c), which no playbook can put
-- on any other resource. Its isolation group's egress can only be tcp/443 to
-- endpoint groups or prefix lists, never an address range. The sandbox
-- learns the tag from the answers of the one lookup and of the creations,
-- so it costs no round trip.

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

-- The two groups of each VPC, in the order they are created and their rules
-- set (the isolation group first: it is the one that matters).
local function wanted(ctx, vpcs)
  local list = {}
  for _, vpc in ipairs(vpcs) do
    list[#list + 1] = { vpc = vpc, kind = "isolation", name = string.format(cfg.isolation_group_name, ctx.state.instance_id),
                        purpose = "isolation, no rules" }
    list[#list + 1] = { vpc = vpc, kind = "untrack", name = string.format(cfg.untrack_group_name, vpc),
                        purpose = "first step of isolation, allows all to untrack connections" }
  end
  return list
end

-- Both groups of every VPC in ONE DescribeSecurityGroups call; fills
-- want.group for those that exist.
local function look_up(list, vpcs)
  local names, seen = {}, {}
  for _, want in ipairs(list) do
    if not seen[want.name] then
      seen[want.name] = true
      names[#names + 1] = want.name
    end
  end
  local found = ec2.describe_security_groups {
    Filters = { { Name = "vpc-id", Values = vpcs }, { Name = "group-name", Values = names } },
  }
  for _, group in ipairs(found.SecurityGroups or {}) do
    for _, want in ipairs(list) do
      if group.VpcId == want.vpc and group.GroupName == want.name then
        want.group = group
      end
    end
  end
end

-- Creates the group of want (tagged). What a new VPC security group has is
-- documented: no inbound rule, one outbound rule allowing all IPv4 traffic;
-- so CreateSecurityGroup's answer (the id) is all that is needed, with no
-- describe after it. Returns the group as DescribeSecurityGroups would.
local function create(ctx, want)
  local created, err = aws.try(ec2.create_security_group, {
    GroupName = want.name,
    VpcId = want.vpc,
    Description = string.format("deadbolt: %s for %s", want.purpose,
      want.kind == "untrack" and ("every instance isolated in " .. want.vpc) or ctx.state.instance_id),
    TagSpecifications = { {
      ResourceType = "security-group",
      Tags = {
        { Key = "Name", Value = want.name },
        { Key = cfg.isolation_tag, Value = want.kind == "untrack" and want.vpc or ctx.state.instance_id },
        { Key = GROUP_TAG, Value = want.kind },
        { Key = cfg.tags.finding_id or "deadbolt:finding-id", Value = ctx.id },
      },
    } },
  })
  if not created then
    if aws.is(err, "InvalidGroup.Duplicate") then -- another run made it just now: as it is now
      local found = ec2.describe_security_groups {
        Filters = { { Name = "vpc-id", Values = { want.vpc } }, { Name = "group-name", Values = { want.name } } },
      }
      return found.SecurityGroups[1] or error(err)
    end
    error(err)
  end
  want.created = true
  notify.note(ctx, "created security group %s (%s) in %s", created.GroupId, want.name, want.vpc)
  return { GroupId = created.GroupId, IpPermissions = {}, IpPermissionsEgress = { ALL_V4 } }
end

-- The calls that leave the group of want with the rules it must have:
-- the isolation group none (a new group's default egress rule, or a
-- forensic rule a stopped run left behind, goes), the untrack group all
-- traffic both ways (IPv4 and IPv6).
local function rule_calls(ctx, want)
  local group, calls = want.group, {}
  if want.kind == "isolation" then
    if #(group.IpPermissionsEgress or {}) > 0 then
      calls[#calls + 1] = function()
        unless_done(ec2.revoke_security_group_egress,
          { GroupId = group.GroupId, IpPermissions = group.IpPermissionsEgress }, "InvalidPermission.NotFound")
      end
    end
    if #(group.IpPermissions or {}) > 0 then -- deadbolt never adds any: someone did
      notify.note(ctx, "WARNING: isolation group %s has inbound rules someone added: remove them", group.GroupId)
    end
    return calls
  end
  local ingress, egress = {}, {}
  if not allows_all(group.IpPermissions, false) then ingress[#ingress + 1] = ALL_V4 end
  if not allows_all(group.IpPermissions, true) then ingress[#ingress + 1] = ALL_V6 end
  if not allows_all(group.IpPermissionsEgress, false) then egress[#egress + 1] = ALL_V4 end
  if not allows_all(group.IpPermissionsEgress, true) then egress[#egress + 1] = ALL_V6 end
  if #ingress > 0 then
    calls[#calls + 1] = function()
      unless_done(ec2.authorize_security_group_ingress,
        { GroupId = group.GroupId, IpPermissions = ingress }, "InvalidPermission.Duplicate")
    end
  end
  if #egress > 0 then
    calls[#calls + 1] = function()
      unless_done(ec2.authorize_security_group_egress,
        { GroupId = group.GroupId, IpPermissions = egress }, "InvalidPermission.Duplicate")
    end
  end
  return calls
end

-- The isolation group of the instance and the untrack group of every VPC
-- in vpcs, ready for the moves: { [vpc] = { isolation = id, untrack = id } },
-- and the ids of the isolation groups that existed with egress rules (a
-- forensic window a stopped run left open: the rules are revoked here, and
-- the caller moves the ENIs again). Three round trips at
-- most, each a set of independent calls made together:
--   1. one DescribeSecurityGroups for both groups of every VPC
--   2. CreateSecurityGroup of each one missing
--   3. the rules of each group that needs them
-- The groups created are saved (created_security_groups) as soon as they
-- exist, including when another creation or a rule failed.
function M.groups(ctx, vpcs)
  local list = wanted(ctx, vpcs)
  look_up(list, vpcs)
  local missing, left_open = {}, {}
  for _, want in ipairs(list) do
    if not want.group then
      missing[#missing + 1] = want
    elseif want.kind == "isolation" and #(want.group.IpPermissionsEgress or {}) > 0 then
      left_open[#left_open + 1] = want.group.GroupId
    end
  end
  local ok, err = pcall(aws.each, missing, function(want)
    want.group = create(ctx, want)
  end)
  local created = ctx.state.created_groups or {}
  for _, want in ipairs(missing) do
    if want.created then
      created[#created + 1] = { GroupId = want.group.GroupId, GroupName = want.name, VpcId = want.vpc }
    end
  end
  if #created > 0 then
    ctx.state.created_groups = created
    ctx.save("created_security_groups", created)
  end
  if not ok then
    error(err, 0)
  end
  local calls = {}
  for _, want in ipairs(list) do
    for _, call in ipairs(rule_calls(ctx, want)) do
      calls[#calls + 1] = call
    end
  end
  aws.all(calls)
  local groups = {}
  for _, want in ipairs(list) do
    groups[want.vpc] = groups[want.vpc] or {}
    groups[want.vpc][want.kind] = want.group.GroupId
  end
  return groups, left_open
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

local function is_forensic(permission)
  return permission.IpProtocol == "tcp" and permission.FromPort == 443 and permission.ToPort == 443
end

-- Takes every egress rule out of the isolation groups again. When this run
-- opened the forensic rule (opened true), that rule is revoked as it was
-- made, and the groups are read at the same time: only a rule that is not
-- the forensic one (none, unless someone added it) costs another call.
-- Otherwise the groups are read and every egress rule is revoked.
function M.close_forensic_egress(ctx, group_ids, opened)
  if #group_ids == 0 then
    return
  end
  local found = aws.all {
    function() return ec2.describe_security_groups { GroupIds = group_ids } end,
    function()
      if opened then
        aws.each(group_ids, function(id)
          unless_done(ec2.revoke_security_group_egress,
            { GroupId = id, IpPermissions = { forensic_rule() } }, "InvalidPermission.NotFound")
          notify.note(ctx, "forensic egress closed in %s: the isolation group has no rules again", id)
        end)
      end
    end,
  }
  aws.each(found[1].SecurityGroups or {}, function(group)
    local rest = {}
    for _, permission in ipairs(group.IpPermissionsEgress or {}) do
      if not (opened and is_forensic(permission)) then
        rest[#rest + 1] = permission
      end
    end
    if #rest > 0 then
      unless_done(ec2.revoke_security_group_egress,
        { GroupId = group.GroupId, IpPermissions = rest }, "InvalidPermission.NotFound")
      notify.note(ctx, "egress rules revoked in %s: the isolation group has no rules again", group.GroupId)
    end
  end)
end

return M
