-- ec2 — contain a compromised EC2 instance, keep the evidence, destroy nothing.
--
-- THE ORDER, AND WHY
--
-- The critical path is the dependency chain of isolation and nothing else.
-- Each line below is one round trip; what is on one line runs together
-- (aws.all / aws.each, lib/aws.lua), and what runs beside the chain never
-- holds it up:
--
--   1. check_finding, choose_response — no call. Nothing is sent for a
--      malformed finding.
--   2. look_up_instance — DescribeInstances. Nothing changes for an exempt or
--      a gone instance; its answer has the ENIs, their groups, the volumes.
--      Beside it, the lock (its key needs only the instance id):
--   2b. one run at a time per instance (lib/lock.lua): lock objects in the
--      artifact bucket, written only if absent (S3 If-None-Match "*"), both
--      windows at once, given back at once when the instance is exempt or
--      gone, else released beside the notification (release_lock without a
--      topic). After a wait (step take_lock), the instance is read again.
--      GuardDuty often sends several findings for one instance within
--      seconds; the second run waits (bounded) and then finds the instance
--      contained: nothing is done twice, the originals are saved once. It is
--      a step of this playbook, not of the engine, because only the playbook
--      knows which resource a finding's changes touch (the instance, not the
--      finding) and which steps must not interleave; the engine would need
--      that knowledge for every resource type. Without a lock (no bucket, a
--      wait that ran out) the steps still converge: groups are found by
--      name, deadbolt's own groups and quarantine profile are never saved as
--      the original state, a snapshot refused inside AWS's 15 s per volume
--      counts as taken.
--   3. isolate_network — critical. The chain:
--        a. ONE DescribeSecurityGroups for both groups of the instance (the
--           allow-all "untrack" group and the isolation group);
--        b. CreateSecurityGroup of each one missing, together. A new group
--           has no inbound rule and one outbound rule (all IPv4), as AWS
--           documents, so the answer's GroupId is all the next calls need;
--        c. the rules, together: the isolation group loses its outbound
--           rule, the untrack group gets all traffic both ways;
--        d. every ENI at once, each in two moves, as AWS's own containment
--           runbook does: the untrack group first (flows allowed that way
--           are not tracked, so existing connections lose their tracking),
--           config.ec2.untrack_dwell_seconds there, then the isolation
--           group, which cuts them. A second move that fails is retried past
--           the client's budget (second_move_rounds), then the ENI goes back
--           to its original groups: never left in the allow-all group; the
--           journal, an alert on the topic and the failed step say which.
--        A forensic window an earlier run left open (it died inside it) is
--        closed here, first: the lookup (a) shows the isolation group's
--        egress rules, revoked with its other rules (c); DescribeInstances
--        (2) shows the quarantine profile, removed beside (b)-(c) when no
--        other run holds the lock; and every ENI gets the two moves (d),
--        those already in the isolation group too.
--      The chain's calls go first when a service's concurrent calls are at
--      their cap (aws.first). Beside the chain, in the same step, from its
--      first round trip:
--        - keep_evidence_early: the console as the attacker left it, asked
--          for before anything changes. One attempt with a short deadline
--          (config.ec2.screenshot): a failing or slow screenshot never
--          delays isolation; a transient failure is tried again after it
--          (two more attempts: three in all, the client's usual number).
--          Beside it the evidence manifest is looked up and, when absent,
--          the instance record stored, then the screenshot in hand.
--        - protect_instance: termination and stop protection, shutdown
--          behaviour "stop", DeleteOnTermination=false (a read and a write:
--          two round trips, so in practice done before the first move at
--          3b/3c). It matters because isolation is visible from inside:
--          an attacker who runs `shutdown` on an instance whose shutdown
--          behaviour is "terminate" would destroy it and its disks. A
--          failure here does not fail isolation: the next step redoes it.
--        - look_ahead: the reads step 5 decides on (Auto Scaling groups,
--          profile associations, load balancers, target groups and their
--          targets, the finding's snapshots, the SSM agent, the quarantine
--          role), so that step 5 only writes.
--   4. protect_instance — what failed beside isolation, again, with the
--      client's usual retries (no call when it all succeeded).
--   5. cut_ties_and_keep_evidence — together, right after isolation, on
--      the reads made beside it (a read that failed there is made again):
--      detach_from_auto_scaling (an isolated instance fails its health
--      checks and Auto Scaling would terminate it; termination protection
--      does not stop Auto Scaling), remove_instance_profile (no new
--      credentials from the metadata service; those already taken stay
--      valid until they expire: the IAM playbook's job), deregister from
--      classic load balancers and target groups (no traffic sent to an
--      instance that cannot answer), tag_instance, snapshot_volumes (every
--      volume at once; CreateSnapshot returns at once, the copy is AWS's),
--      store_evidence (what was not stored beside isolation, and the
--      screenshot again if its one quick attempt failed transiently; the
--      screenshot object once that retry has ended; then the SHA-256
--      manifest of what was stored: a failing screenshot holds up only the
--      manifest, never the other tasks) and check_forensic_access.
--   6. open_forensic_access, run_forensic_commands, end_forensics — the
--      slow part, last: the quarantine profile, a
--      bounded wait for the SSM agent, the commands, a bounded wait for them.
--      The agent needs HTTPS out to reach SSM and to write its output to S3,
--      which the isolation group blocks: while the commands run, and only
--      then, the isolation group gets ONE egress rule, tcp/443 to
--      config.forensics.egress: the security group of the VPC's interface
--      endpoints for ssm, ec2messages and ssmmessages, and S3's gateway
--      endpoint prefix list. Never an address range (the sandbox refuses
--      one): an isolated instance is never open to the internet, so without
--      endpoints named in the config, forensics on a contained instance is
--      skipped and says why. Before the rule is opened, and again after it
--      is revoked, every ENI gets the two moves of 3d (move_again): a
--      connection opened in the window is tracked, and would outlive the
--      rule. The agent writes its output only under
--      forensics/<quarantine RoleId>:<instance id>/, the one prefix the
--      quarantine role lets that instance's session write (template.yaml).
--      end_forensics is its own step so that it runs even when the commands
--      failed (and only when this run opened the window): it revokes every egress rule of the isolation groups and
--      takes the quarantine profile off, then moves the ENIs again and
--      revokes the quarantine role's older sessions (revoke_quarantine_sessions).
--   7. notify — one summary. (A finding only notified about, or with
--      evidence collected only, ends "skipped" with why, not "contained":
--      choose_response tells the runner, which decides the outcome.)
--
-- The journal and the dry-run plan keep the order of a sequential run of
-- each group (the screenshot, the protections, then the chain), whatever
-- order the answers come in.
--
-- Every change saves the state it changed from (ctx.save), for restore; the
-- protections and the groups made beside or during isolation are saved in
-- the isolate_network step's journal line.
-- Nothing is terminated, deleted or stopped; the allow-list has no such
-- operation anyway.
--
-- Idempotence: the isolation groups are found again by name (unique per
-- VPC, so two runs at once cannot make two), snapshots by their finding-id
-- tag, evidence by its manifest; attributes already set are not set again.
-- A re-delivered finding ends in the same state as the first delivery.

local config = require "config"
local aws = require "lib.aws"
local validate = require "lib.validate"
local policy = require "lib.policy"
local evidence = require "lib.evidence"
local isolation = require "lib.isolation"
local forensics = require "lib.forensics"
local notify = require "lib.notify"
local tasks = require "lib.tasks"
local lock = require "lib.lock"

local cfg = config.ec2
local note = notify.note

-- ---------------------------------------------------------------------------
-- Guards for `when`

local responding, containing = policy.responding, policy.containing

-- ---------------------------------------------------------------------------
-- Helpers

local function tag_value(tags, key)
  for _, tag in ipairs(tags or {}) do
    if tag.Key == key then
      return tag.Value
    end
  end
  return nil
end

-- The EBS volumes attached to the instance: { {device=, volume=, delete_on_termination=} }.
local function ebs_volumes(inst)
  local volumes = {}
  for _, mapping in ipairs(inst.BlockDeviceMappings or {}) do
    if mapping.Ebs and mapping.Ebs.VolumeId then
      volumes[#volumes + 1] = { device = mapping.DeviceName, volume = mapping.Ebs.VolumeId,
                                delete_on_termination = mapping.Ebs.DeleteOnTermination }
    end
  end
  return volumes
end

local function group_ids(groups)
  local ids = {}
  for _, group in ipairs(groups or {}) do
    ids[#ids + 1] = group.GroupId
  end
  return ids
end

-- Whether a name was made by string.format(format, <one id>): the id is
-- the part between the format's text before and after its %s.
local function made_by(format, name)
  local at = format:find("%s", 1, true)
  if not at or not name then
    return false
  end
  local head, tail = format:sub(1, at - 1), format:sub(at + 2)
  return #name > #head + #tail and name:sub(1, #head) == head and (tail == "" or name:sub(-#tail) == tail)
end

-- Whether group (an ENI's { GroupId, GroupName }) is one of deadbolt's
-- groups: this run's, or any isolation or allow-all group by its name (an
-- ENI another run of any finding moved, or is moving right now): an ENI's
-- groups are saved as its original state without them.
local function is_our_group(ctx, group)
  for _, groups in pairs(ctx.state.groups or {}) do
    if groups.isolation == group.GroupId or groups.untrack == group.GroupId then
      return true
    end
  end
  return made_by(cfg.isolation_group_name, group.GroupName) or made_by(cfg.untrack_group_name, group.GroupName)
end

-- The isolation groups of the instance, one per VPC.
local function isolation_group_ids(ctx)
  local ids = {}
  for _, groups in pairs(ctx.state.groups or {}) do
    ids[#ids + 1] = groups.isolation
  end
  table.sort(ids)
  return ids
end

-- The instance's profile associations that are in place (or coming).
local function profile_associations(instance_id)
  local r = ec2.describe_iam_instance_profile_associations {
    Filters = { { Name = "instance-id", Values = { instance_id } } },
  }
  local live = {}
  for _, a in ipairs(r.IamInstanceProfileAssociations or {}) do
    if a.State == "associated" or a.State == "associating" then
      live[#live + 1] = a
    end
  end
  return live
end

local function screenshot_file(image)
  if image:sub(1, 8) == "\137PNG\r\n\26\n" then
    return "screenshot.png", "image/png"
  end
  return "screenshot.jpg", "image/jpeg"
end

-- ---------------------------------------------------------------------------
-- The work, one function per named piece

-- Whether err is worth another attempt later: 5xx, throttling, no answer.
local function transient(err)
  return type(err) == "table" and (err.status == nil or err.status == 0 or err.status >= 500
    or err.status == 429 or aws.is(err, "Timeout", "TransportError", "RequestLimitExceeded", "Throttling"))
end

-- capture_screenshot. quick: one attempt with config.ec2.screenshot's
-- deadline (beside isolation). Otherwise the client's usual retries, less
-- the attempt already made beside isolation: three in all, as the SDKs'
-- standard retry mode makes.
local function capture_screenshot(ctx, quick)
  local params = { InstanceId = ctx.state.instance_id }
  local settings = cfg.screenshot or {}
  if quick then
    params.__deadline = settings.deadline_seconds or 2
    params.__attempts = 1
  elseif ctx.state.screenshot_tried then
    params.__attempts = 2
  end
  ctx.state.screenshot_tried = true
  local r, err = aws.try(ec2.get_console_screenshot, params)
  if not r then -- stopped, not Nitro, slow, ...: journaled, not fatal
    note(ctx, "no console screenshot%s: %s", quick and " (one quick attempt)" or "", tostring(err))
    ctx.state.screenshot_error = tostring(err)
    ctx.state.screenshot_again = quick and transient(err) and settings.retry_after_isolation == true
    return
  end
  ctx.state.screenshot, ctx.state.screenshot_error, ctx.state.screenshot_again = r.ImageData, nil, false
end

-- protect_instance: each protection is read, and set only when it differs.
-- What it was before is saved, accumulated over attempts (the step after
-- isolation may redo what failed beside it).
local function protect_instance(ctx)
  local id = ctx.state.instance_id
  local wanted = {}
  if cfg.termination_protection and ctx.state.instance.InstanceLifecycle == "spot" then
    -- AWS: "You can't enable termination protection for Spot Instances"
    -- (ModifyInstanceAttribute answers an error): not asked for, said why.
    if not ctx.state.spot_noted then
      ctx.state.spot_noted = true
      note(ctx, "termination protection skipped: %s is a Spot Instance, which AWS does not let have it "
        .. "(stop protection, shutdown behaviour and volumes are still protected)", id)
    end
  elseif cfg.termination_protection then
    wanted[#wanted + 1] = { attribute = "disableApiTermination", member = "DisableApiTermination", value = true }
  end
  if cfg.stop_protection then
    wanted[#wanted + 1] = { attribute = "disableApiStop", member = "DisableApiStop", value = true }
  end
  if cfg.shutdown_behavior_stop then
    wanted[#wanted + 1] = { attribute = "instanceInitiatedShutdownBehavior",
                            member = "InstanceInitiatedShutdownBehavior", value = "stop" }
  end
  -- Every attribute read at once; what differs is saved in one ctx.save,
  -- before any is changed; then every change at once.
  local current = aws.each(wanted, function(w)
    local r = ec2.describe_instance_attribute { InstanceId = id, Attribute = w.attribute }
    return r[w.member] and r[w.member].Value
  end)
  ctx.state.attributes_before = ctx.state.attributes_before or {}
  local before, change = ctx.state.attributes_before, {}
  for i, w in ipairs(wanted) do
    if current[i] ~= w.value then
      before[w.member] = current[i]
      change[#change + 1] = { member = w.member, from = current[i], to = w.value }
    end
  end
  if #change > 0 then
    ctx.save("attributes", before)
  end
  local work = {}
  for _, c in ipairs(change) do
    work[#work + 1] = function()
      ec2.modify_instance_attribute { InstanceId = id, [c.member] = { Value = c.to } }
      note(ctx, "%s: %s -> %s", c.member, tostring(c.from), tostring(c.to))
    end
  end
  if cfg.keep_volumes_on_termination then
    work[#work + 1] = function()
      local mappings, saved = {}, {}
      for _, v in ipairs(ebs_volumes(ctx.state.instance)) do
        if v.delete_on_termination ~= false then
          mappings[#mappings + 1] = { DeviceName = v.device, Ebs = { DeleteOnTermination = false } }
          saved[#saved + 1] = { DeviceName = v.device, VolumeId = v.volume, DeleteOnTermination = true }
        end
      end
      if #mappings == 0 then
        return
      end
      ctx.save("delete_on_termination", saved)
      ec2.modify_instance_attribute { InstanceId = id, BlockDeviceMappings = mappings }
      note(ctx, "DeleteOnTermination=false on %d volume(s)", #mappings)
    end
  end
  aws.all(work)
end

-- What isolation leaves open, said in every notification of a contained
-- instance (AWS, "Amazon EC2 security group connection tracking").
local NOT_CUT = "Isolation does not cut connections that AWS tracks whatever the security groups say: "
  .. "traffic through a NAT gateway, a Network or Gateway Load Balancer, an interface VPC endpoint, "
  .. "an egress-only internet gateway, Global Accelerator, a Network Firewall endpoint or a transit "
  .. "gateway attachment, opened before isolation, may go on until its tracking times out (TCP: 5 days "
  .. "by default). Credentials already taken from the instance profile stay valid until they expire. "
  .. "To cut everything at once: a deny-all network ACL on the subnet (it affects every instance there)."

-- The second move of one ENI, into the isolation group: the client's
-- attempts, then again up to config.ec2.second_move_rounds rounds in all
-- with second_move_pause_seconds between them, because an ENI left in the
-- allow-all group is open to everything. true, or false and the last error.
local function second_move(m)
  local rounds, err = math.max(1, cfg.second_move_rounds or 3), nil
  for round = 1, rounds do
    local ok, e = aws.try(ec2.modify_network_interface_attribute,
      { NetworkInterfaceId = m.eni.NetworkInterfaceId, Groups = { m.groups.isolation } })
    if ok then
      return true, round
    end
    err = e
    if round < rounds then
      sleep(cfg.second_move_pause_seconds or 1)
    end
  end
  return false, err
end

-- An ENI whose second move never went through leaves the allow-all group
-- anyway: back to the groups it had before the run (saved), which is no
-- more open than before. Returns what became of it, in words.
local function fall_back(ctx, m, err)
  local id = m.eni.NetworkInterfaceId
  local why = string.format("the move to isolation group %s failed %d time(s) in a row (last: %s)",
    m.groups.isolation, cfg.second_move_rounds or 3, tostring(err))
  if m.again then -- it was in the isolation group: the sandbox puts it back there
    return string.format("%s NOT isolated: moved again, %s: left in allow-all group %s for the sandbox "
      .. "to move back to the isolation group at the end of the step", id, why, m.groups.untrack)
  end
  if not m.original then
    return string.format("%s: %s, and it had only deadbolt's groups before: left in allow-all group %s "
      .. "for the sandbox to move back at the end of the step", id, why, m.groups.untrack)
  end
  local ok, back_err = aws.try(ec2.modify_network_interface_attribute,
    { NetworkInterfaceId = id, Groups = m.original })
  if ok then
    return string.format("%s NOT isolated: %s; moved back to its original groups %s", id, why,
      table.concat(m.original, ","))
  end
  return string.format("%s NOT isolated: %s; the move back to its original groups %s failed too (%s): "
    .. "left in allow-all group %s for the sandbox to move back at the end of the step", id, why,
    table.concat(m.original, ","), tostring(back_err), m.groups.untrack)
end

-- Every ENI of moving, in two moves: all into the allow-all (untrack) group
-- together, config.ec2.untrack_dwell_seconds there, then all into the
-- isolation group together. An ENI whose first move failed never left its
-- own groups; one whose second move failed is retried past the client's
-- budget, then moved back to its original groups (fall_back). Each ENI's
-- fate is noted; when any ENI is not isolated, the notification topic gets
-- an alert naming each one and where it is now (a failed critical step ends
-- the run before the summary), and the step fails with the same text.
local function move_all(ctx, moving)
  local first = {}
  aws.each(moving, function(m)
    local ok, err = aws.try(ec2.modify_network_interface_attribute,
      { NetworkInterfaceId = m.eni.NetworkInterfaceId, Groups = { m.groups.untrack } })
    if ok then
      first[#first + 1] = m
    else
      m.fate = string.format("%s NOT isolated: the move to allow-all group %s failed (%s); it stays in its own groups %s",
        m.eni.NetworkInterfaceId, m.groups.untrack, tostring(err), table.concat(m.current, ","))
    end
  end)
  if #first > 0 and (cfg.untrack_dwell_seconds or 0) > 0 then
    sleep(cfg.untrack_dwell_seconds)
  end
  aws.each(first, function(m)
    local id = m.eni.NetworkInterfaceId
    local ok, detail = second_move(m)
    if ok then
      m.isolated = true
      note(ctx, "%s isolated in %s (was %s)%s", id, m.groups.isolation, table.concat(m.current, ","),
        detail > 1 and string.format(", the second move on round %d", detail) or "")
    else
      m.fate = fall_back(ctx, m, detail)
    end
  end)
  local failed = {}
  for _, m in ipairs(moving) do
    if m.fate then
      note(ctx, "%s", m.fate)
      failed[#failed + 1] = m.fate
    end
  end
  if #failed == 0 then
    if not moving.again then
      note(ctx, "%s", NOT_CUT)
    end
    return
  end
  ctx.state.not_isolated = failed
  local text = table.concat(failed, "\n")
  if ctx.env.NOTIFICATION_TOPIC_ARN then
    local ok, err = aws.try(sns.publish, {
      TopicArn = ctx.env.NOTIFICATION_TOPIC_ARN,
      Subject = (string.format("%s ISOLATION FAILED: instance %s", config.notify.subject_prefix,
        ctx.state.instance_id):gsub("[^\32-\126]", "?"):sub(1, 100)),
      Message = string.format("Finding %s (%s): %d of %d network interface(s) of %s are not isolated.\n\n%s\n\n%s\n",
        ctx.id, ctx.type, #failed, #moving, ctx.state.instance_id, text, NOT_CUT),
    })
    if not ok then
      note(ctx, "the isolation alert could not be published: %s", tostring(err))
    end
  end
  error(string.format("%d of %d network interface(s) not isolated: %s", #failed, #moving,
    table.concat(failed, "; ")), 0)
end

-- Every ENI of the instance, already in its isolation group, moved again in
-- the two moves (allow-all group, then isolation group) with move_all's
-- retries and fallback: a connection the isolation group let through for a
-- while (the forensic window's tcp/443 to the endpoints) is tracked, and a
-- tracked connection outlives the rule that allowed it; the move through the
-- allow-all group untracks it, and the move back cuts it.
local function move_again(ctx, why)
  local inst, moving = ctx.state.instance, { again = true }
  for _, eni in ipairs(inst.NetworkInterfaces or {}) do
    local groups = ctx.state.groups[eni.VpcId or inst.VpcId]
    moving[#moving + 1] = { eni = eni, groups = groups, current = { groups.isolation }, again = true }
  end
  note(ctx, "every network interface moved again through the allow-all group %s, so no connection "
    .. "opened in it survives", why)
  move_all(ctx, moving)
end

-- Whether a run holds this instance, as far as this run can tell: the lock
-- was not taken (another run held it past config.ec2.lock.wait_seconds),
-- so that run may be alive and inside its forensic window.
local function another_run_may_hold(ctx)
  return ctx.state.locks ~= nil and #ctx.state.locks < 2
end

-- A forensic window an earlier run left open (it died inside it: killed, out
-- of time): the quarantine profile still on the instance (DescribeInstances
-- shows it: no call) while no live run holds the instance. Its association
-- is found and removed. Returns true when it did.
local function close_left_profile(ctx)
  local quarantine, attached = ctx.env.QUARANTINE_PROFILE_ARN, ctx.state.instance.IamInstanceProfile
  if not quarantine or not attached or attached.Arn ~= quarantine then
    return false
  end
  if another_run_may_hold(ctx) then
    note(ctx, "the quarantine profile is attached and another run holds the lock: left to that run")
    return false
  end
  local removed = false
  for _, a in ipairs(profile_associations(ctx.state.instance_id)) do
    if a.IamInstanceProfile and a.IamInstanceProfile.Arn == quarantine then
      ec2.disassociate_iam_instance_profile { AssociationId = a.AssociationId }
      removed = true
    end
  end
  return removed
end

-- The groups (lib/isolation), and beside them the quarantine profile a dead
-- run left (close_left_profile). Returns the isolation groups that had egress
-- rules (a forensic window left open) and whether the profile was removed.
local function groups_and_left_window(ctx, vpcs)
  local left_open, profile_removed = {}, false
  local ok, err = pcall(aws.all, {
    function() ctx.state.groups, left_open = isolation.groups(ctx, vpcs) end,
    function() profile_removed = close_left_profile(ctx) end,
  })
  if not ok then -- the first branch's error as isolation.groups raised it
    error(type(err) == "table" and err.errors and (err.errors[1] or err.errors[2]) or err, 0)
  end
  return left_open or {}, profile_removed
end

-- The chain of isolate_network: the groups (lib/isolation: one lookup, the
-- creations together, the rules together), then every ENI at once.
-- A forensic window an earlier run left open is closed first, in the same
-- round trips: the lookup shows the isolation group's egress rules (revoked
-- with the group's other rules), DescribeInstances the quarantine profile
-- (removed beside the groups), and every ENI then gets the two moves, those
-- already in the isolation group too.
local function isolate(ctx)
  local inst = ctx.state.instance
  local enis = inst.NetworkInterfaces or {}
  if #enis == 0 then
    error("instance " .. ctx.state.instance_id .. " has no network interface to isolate", 0)
  end
  local vpcs, seen = {}, {}
  for _, eni in ipairs(enis) do
    local vpc = eni.VpcId or inst.VpcId
    if not seen[vpc] then
      seen[vpc] = true
      vpcs[#vpcs + 1] = vpc
    end
  end
  local left_open, profile_removed = groups_and_left_window(ctx, vpcs)
  local reopened = #left_open > 0 or profile_removed
  if reopened then
    note(ctx, "a forensic window an earlier run left open is closed first:%s%s every network interface "
      .. "is moved again through the allow-all group, so no connection opened in it survives",
      #left_open > 0 and (" egress rules revoked in " .. table.concat(left_open, ",") .. ";") or "",
      profile_removed and " the quarantine profile removed;" or "")
  end
  -- Each ENI's groups before, saved once for all of them before any moves
  -- (an ENI a run already moved is not saved as if that were its state).
  local saved, moving = {}, {}
  for _, eni in ipairs(enis) do
    local groups = ctx.state.groups[eni.VpcId or inst.VpcId]
    local current = group_ids(eni.Groups)
    if #current == 1 and current[1] == groups.isolation and reopened then
      moving[#moving + 1] = { eni = eni, groups = groups, current = current, again = true }
    elseif #current == 1 and current[1] == groups.isolation then
      note(ctx, "%s is already isolated", eni.NetworkInterfaceId)
    else
      local original = {}
      for _, g in ipairs(eni.Groups or {}) do
        if not is_our_group(ctx, g) then
          original[#original + 1] = g.GroupId
        end
      end
      if #original > 0 then
        saved[eni.NetworkInterfaceId] = original
      end
      moving[#moving + 1] = { eni = eni, groups = groups, current = current }
    end
  end
  if next(saved) then
    ctx.save("eni_groups", saved)
  end
  for _, m in ipairs(moving) do
    m.original = saved[m.eni.NetworkInterfaceId]
  end
  move_all(ctx, moving)
end

-- fn(ctx) as work beside the chain: its failure is noted and kept in
-- ctx.state.beside_failed[name], never raised into the critical step.
local function beside(ctx, name, fn)
  return function()
    local ok, err = pcall(fn, ctx)
    if not ok then
      ctx.state.beside_failed[name] = tostring(err)
      note(ctx, "%s beside isolation failed: %s", name, tostring(err))
    end
  end
end

-- The reads of the step after isolation, made beside isolation
-- (look_ahead): ahead(ctx, find) is find(ctx)'s answer as look_ahead read
-- it, or read now when it was not read then (an evidence-only response
-- does not isolate) or that read failed.
local function ahead(ctx, find)
  local got = ctx.state.ahead and ctx.state.ahead[find]
  if got then
    return got[1]
  end
  return find(ctx)
end

-- The Auto Scaling groups the instance is in.
local function auto_scaling_groups(ctx)
  local r = autoscaling.describe_auto_scaling_instances { InstanceIds = { ctx.state.instance_id } }
  local names = {}
  for _, a in ipairs(r.AutoScalingInstances or {}) do
    names[#names + 1] = a.AutoScalingGroupName
  end
  return names
end

local function detach_from_auto_scaling(ctx)
  local id = ctx.state.instance_id
  local names = ahead(ctx, auto_scaling_groups)
  if #names == 0 then
    return
  end
  ctx.save("auto_scaling_groups", names)
  aws.each(names, function(name)
    autoscaling.detach_instances { InstanceIds = { id }, AutoScalingGroupName = name,
                                   ShouldDecrementDesiredCapacity = false }
    note(ctx, "detached from Auto Scaling group %s (desired capacity kept)", name)
  end)
end

local function instance_profile_associations(ctx)
  return profile_associations(ctx.state.instance_id)
end

local function remove_instance_profile(ctx)
  local associations, quarantine = {}, ctx.env.QUARANTINE_PROFILE_ARN
  for _, a in ipairs(ahead(ctx, instance_profile_associations)) do
    if quarantine and a.IamInstanceProfile and a.IamInstanceProfile.Arn == quarantine then
      -- deadbolt's own, put there by a run of another finding for its
      -- forensics: not the instance's profile, neither saved nor removed
      note(ctx, "the quarantine profile is attached (%s): another run's forensics, left to it", a.AssociationId)
    else
      associations[#associations + 1] = a
    end
  end
  if #associations == 0 then
    return
  end
  local saved = {}
  for _, a in ipairs(associations) do
    saved[#saved + 1] = { AssociationId = a.AssociationId, Arn = a.IamInstanceProfile and a.IamInstanceProfile.Arn }
  end
  ctx.save("instance_profiles", saved)
  aws.each(associations, function(a)
    ec2.disassociate_iam_instance_profile { AssociationId = a.AssociationId }
    note(ctx, "instance profile %s removed", tostring(a.IamInstanceProfile and a.IamInstanceProfile.Arn))
  end)
end

-- The classic load balancers the instance is registered with.
local function classic_load_balancers(ctx)
  local id, names = ctx.state.instance_id, {}
  -- every finding of a document asks the same: listed once (aws.cached)
  for _, lb in ipairs(aws.all_pages(aws.cached(elb.describe_load_balancers), {}, "LoadBalancerDescriptions")) do
    for _, member in ipairs(lb.Instances or {}) do
      if member.InstanceId == id then
        names[#names + 1] = lb.LoadBalancerName
      end
    end
  end
  return names
end

local function deregister_from_load_balancers(ctx)
  local id = ctx.state.instance_id
  local names = ahead(ctx, classic_load_balancers)
  if #names == 0 then
    return
  end
  ctx.save("classic_load_balancers", names)
  aws.each(names, function(name)
    elb.deregister_instances_from_load_balancer { LoadBalancerName = name, Instances = { { InstanceId = id } } }
    note(ctx, "deregistered from classic load balancer %s", name)
  end)
end

-- The instance's registrations in target groups, in listing order:
-- { { TargetGroupArn =, Targets = { { Id =, Port = } } } }.
local function target_registrations(ctx)
  local id, vpc = ctx.state.instance_id, ctx.state.instance.VpcId
  local candidates = {}
  for _, tg in ipairs(aws.all_pages(aws.cached(elbv2.describe_target_groups), {}, "TargetGroups")) do
    if tg.TargetType == "instance" and (vpc == nil or tg.VpcId == vpc) then
      candidates[#candidates + 1] = tg
    end
  end
  local found = {} -- found[i]: the registrations in candidates[i], kept in listing order
  aws.each(candidates, function(tg)
    local health = aws.cached(elbv2.describe_target_health) { TargetGroupArn = tg.TargetGroupArn }
    local targets = {}
    for _, d in ipairs(health.TargetHealthDescriptions or {}) do
      if d.Target.Id == id then
        targets[#targets + 1] = { Id = d.Target.Id, Port = d.Target.Port }
      end
    end
    if #targets > 0 then
      found[tg.TargetGroupArn] = { TargetGroupArn = tg.TargetGroupArn, Targets = targets }
    end
  end)
  local registrations = {}
  for _, tg in ipairs(candidates) do
    registrations[#registrations + 1] = found[tg.TargetGroupArn]
  end
  return registrations
end

local function deregister_from_target_groups(ctx)
  local registrations = ahead(ctx, target_registrations)
  if #registrations == 0 then
    return
  end
  ctx.save("target_groups", registrations)
  aws.each(registrations, function(reg)
    elbv2.deregister_targets(reg)
    note(ctx, "deregistered from target group %s (%d port(s))", reg.TargetGroupArn, #reg.Targets)
  end)
end

local function tag_instance(ctx)
  local t = cfg.tags
  if t.finding_id and tag_value(ctx.state.instance.Tags, t.finding_id) == ctx.id then
    note(ctx, "instance already tagged for this finding")
    return
  end
  local values = {
    [t.status or ""] = ctx.state.response == "contain" and "contained" or "evidence-collected",
    [t.contained_at or ""] = now(),
    [t.finding_id or ""] = ctx.id,
    [t.finding_type or ""] = ctx.type,
    [t.source or ""] = cfg.source,
  }
  values[""] = nil
  local tags, before = {}, { existed = {}, absent = {} }
  for key, value in pairs(values) do
    tags[#tags + 1] = { Key = key, Value = value }
  end
  table.sort(tags, function(a, b) return a.Key < b.Key end)
  for _, tag in ipairs(tags) do
    local old = tag_value(ctx.state.instance.Tags, tag.Key)
    if old then
      before.existed[#before.existed + 1] = { Key = tag.Key, Value = old }
    else
      before.absent[#before.absent + 1] = tag.Key
    end
  end
  ctx.save("tags", before)
  ec2.create_tags { Resources = { ctx.state.instance_id }, Tags = tags }
end

-- snapshot_volumes: one DescribeSnapshots for every volume (those this
-- finding already has), then every missing snapshot at once.
-- The tag that names a snapshot's finding.
local function snapshot_finding_tag()
  return cfg.tags.finding_id or "deadbolt:finding-id"
end

-- The snapshots this finding already has, by volume id.
local function finding_snapshots(ctx)
  local ids = {}
  for i, v in ipairs(ebs_volumes(ctx.state.instance)) do
    ids[i] = v.volume
  end
  if #ids == 0 then
    return {}
  end
  local existing = ec2.describe_snapshots {
    OwnerIds = { "self" },
    Filters = { { Name = "volume-id", Values = ids }, { Name = "tag:" .. snapshot_finding_tag(), Values = { ctx.id } } },
  }
  local have = {}
  for _, snap in ipairs(existing.Snapshots or {}) do
    have[snap.VolumeId] = snap.SnapshotId
  end
  return have
end

local function snapshot_volumes(ctx)
  local id, finding_tag = ctx.state.instance_id, snapshot_finding_tag()
  local volumes = ebs_volumes(ctx.state.instance)
  if #volumes == 0 then
    return
  end
  local have = ahead(ctx, finding_snapshots)
  aws.each(volumes, function(v)
    if have[v.volume] then
      note(ctx, "%s already has snapshot %s for this finding", v.volume, have[v.volume])
      return
    end
    local snap, err = aws.try(ec2.create_snapshot, {
      VolumeId = v.volume,
      Description = string.format("deadbolt: %s (%s) of %s, GuardDuty finding %s", v.volume,
        tostring(v.device), id, ctx.id):sub(1, 255),
      TagSpecifications = { {
        ResourceType = "snapshot",
        Tags = {
          { Key = "Name", Value = "deadbolt " .. id .. " " .. tostring(v.device) },
          { Key = finding_tag, Value = ctx.id },
          { Key = "deadbolt:instance-id", Value = id },
          { Key = "deadbolt:device", Value = tostring(v.device) },
        },
      } },
    })
    if not snap then
      if not aws.is(err, "SnapshotCreationPerVolumeRateExceeded") then
        error(err)
      end
      -- AWS allows one snapshot of a volume every 15 s: another run (another
      -- finding for this instance) took one just now, and it holds the same
      -- disk: counted as taken, named by its tags.
      local recent = ec2.describe_snapshots {
        OwnerIds = { "self" },
        Filters = { { Name = "volume-id", Values = { v.volume } }, { Name = "tag:deadbolt:instance-id", Values = { id } } },
      }
      local newest
      for _, other in ipairs(recent.Snapshots or {}) do
        if not newest or tostring(other.StartTime) > tostring(newest.StartTime) then
          newest = other
        end
      end
      ctx.state.shared_snapshots = (ctx.state.shared_snapshots or 0) + 1
      note(ctx, "%s (%s): snapshotted by another run within AWS's 15 s per volume: %s counts as this finding's",
        v.volume, tostring(v.device), newest and newest.SnapshotId or "its snapshot (not listed yet)")
      return
    end
    note(ctx, "snapshot %s of %s (%s)", tostring(snap.SnapshotId), v.volume, tostring(v.device))
  end)
end

-- The screenshot as an evidence object: its manifest entry, or nil.
local function store_screenshot(ctx, bucket, prefix, notes)
  if not ctx.state.screenshot then
    notes[#notes + 1] = "no console screenshot: " .. tostring(ctx.state.screenshot_error)
    return nil
  end
  local image, why = base64.decode(ctx.state.screenshot)
  if image then
    local file, content_type = screenshot_file(image)
    return evidence.put(bucket, prefix .. file, image, content_type)
  end
  notes[#notes + 1] = "the screenshot was not base64 (" .. why .. "): stored as received"
  return evidence.put(bucket, prefix .. "screenshot.b64", ctx.state.screenshot, "text/plain")
end

-- What of this finding's evidence is stored, kept across the two steps
-- that store it: before (whether its manifest existed already: nil until
-- read), record and screenshot (their manifest entries), screenshot_done,
-- notes.
local function evidence_kept(ctx)
  ctx.state.evidence_kept = ctx.state.evidence_kept or { notes = {} }
  return ctx.state.evidence_kept
end

-- The evidence objects not stored yet, at once: the instance record and,
-- with screenshot, the screenshot as it is in hand (or a note of why there
-- is none); nothing when the finding's manifest exists (a run before this
-- one stored its evidence: never overwritten).
local function store_objects(ctx, bucket, prefix, kept, screenshot)
  if kept.before == nil then
    kept.before = evidence.exists(bucket, prefix .. config.evidence.manifest)
  end
  if kept.before then
    return
  end
  aws.all {
    function()
      if not kept.record then
        kept.record = evidence.put(bucket, prefix .. "describe-instances.json", json.encode(ctx.state.record),
          "application/json")
      end
    end,
    function()
      if screenshot and not kept.screenshot_done then
        kept.screenshot = store_screenshot(ctx, bucket, prefix, kept.notes)
        kept.screenshot_done = true
      end
    end,
  }
end

-- keep_evidence_early, beside isolation: the screenshot's one quick attempt
-- and, with a bucket, the manifest's lookup then the instance record, at
-- once; then the screenshot object, unless it is to be asked for again
-- after isolation. A failure here is redone by store_evidence.
local function keep_evidence_early(ctx)
  local bucket = ctx.env.ARTIFACT_BUCKET
  if not bucket then
    return capture_screenshot(ctx, true)
  end
  local prefix, kept = evidence.prefix(ctx, ctx.state.instance_id), evidence_kept(ctx)
  aws.all {
    function() capture_screenshot(ctx, true) end,
    function() store_objects(ctx, bucket, prefix, kept, false) end,
  }
  if not ctx.state.screenshot_again then
    store_objects(ctx, bucket, prefix, kept, true)
  end
end

-- store_evidence: what keep_evidence_early did not store (all of it when
-- the instance was not isolated: evidence only), while the screenshot is
-- asked for again (when it was not taken beside isolation, or its one
-- quick attempt failed transiently); the screenshot object once in hand;
-- then the manifest naming what was stored, with its SHA-256.
local function store_evidence(ctx)
  local bucket = ctx.env.ARTIFACT_BUCKET
  local again = not ctx.state.screenshot_tried or ctx.state.screenshot_again
  if not bucket then
    if again then
      capture_screenshot(ctx, false)
    end
    note(ctx, "no ARTIFACT_BUCKET: the instance record and screenshot were not stored")
    return
  end
  local prefix, kept = evidence.prefix(ctx, ctx.state.instance_id), evidence_kept(ctx)
  ctx.state.evidence_location = string.format("s3://%s/%s", bucket, prefix)
  aws.all {
    function()
      if again then
        capture_screenshot(ctx, false)
      end
    end,
    function() store_objects(ctx, bucket, prefix, kept, not again) end,
  }
  if kept.before then
    note(ctx, "evidence for this finding is already at s3://%s/%s: not overwritten", bucket, prefix)
    return
  end
  if again then
    store_objects(ctx, bucket, prefix, kept, true)
  end
  local artifacts = {}
  artifacts[#artifacts + 1] = kept.record
  artifacts[#artifacts + 1] = kept.screenshot
  local key = evidence.write_manifest(ctx, bucket, prefix, ctx.state.instance_id, artifacts, kept.notes)
  note(ctx, "evidence stored: %d object(s), manifest s3://%s/%s", #artifacts, bucket, key)
end

-- The quarantine role: named as its instance profile (template.yaml), so
-- the profile's ARN names both.
local function quarantine_role_name(ctx)
  local arn = ctx.env.QUARANTINE_PROFILE_ARN
  return arn and arn:match(":instance%-profile/.-([^/]+)$") or nil
end

-- The quarantine role's RoleId, or nil and why. An instance's session of
-- that role is "<RoleId>:<instance id>" (aws:userid), the prefix the role may
-- write under (template.yaml, ForensicOutput).
local function quarantine_role(ctx)
  local name = quarantine_role_name(ctx)
  if not name or name == "" then
    return nil, "QUARANTINE_PROFILE_ARN names no instance profile"
  end
  local r, err = aws.try(iam.get_role, { RoleName = name })
  if not r then
    if aws.is(err, "NoSuchEntity") then
      return nil, string.format("no quarantine role %s (named as its instance profile)", name)
    end
    return nil, string.format("the quarantine role %s could not be read (%s)", name, tostring(err))
  end
  return { name = name, id = r.Role.RoleId }
end

-- The reads check_forensic_access decides on, together: whether the
-- commands' record exists, the SSM agent, and for a contained instance the
-- quarantine role. nil when there is nothing to read (no bucket, the
-- instance not running).
local function forensic_facts(ctx)
  local id, bucket = ctx.state.instance_id, ctx.env.ARTIFACT_BUCKET
  local state = ctx.state.instance.State and ctx.state.instance.State.Name
  if not bucket or state ~= "running" then
    return nil
  end
  local facts = {}
  aws.all {
    function() facts.ran = evidence.exists(bucket, evidence.prefix(ctx, id) .. "forensic-commands.json") end,
    function() facts.agent = forensics.agent(id) end,
    function()
      if ctx.state.response == "contain" and ctx.env.QUARANTINE_PROFILE_ARN then
        facts.role, facts.role_why = quarantine_role(ctx)
      end
    end,
  }
  return facts
end

-- check_forensic_access: whether the forensic commands can and should run
-- (ctx.state.forensics): a bucket for their output, not run already for
-- this finding, the instance running and managed by SSM, and for a
-- contained instance the quarantine role.
local function check_forensic_access(ctx)
  local id, bucket = ctx.state.instance_id, ctx.env.ARTIFACT_BUCKET
  local prefix = evidence.prefix(ctx, id)
  local state = ctx.state.instance.State and ctx.state.instance.State.Name
  local why_not
  if not bucket then
    why_not = "no artifact bucket for their output"
  elseif state ~= "running" then
    why_not = string.format("%s is %s", id, tostring(state))
  else
    local facts = ahead(ctx, forensic_facts)
    local agent, role_why = facts.agent, facts.role_why
    ctx.state.quarantine_role = facts.role
    if facts.ran then
      why_not = string.format("they already ran for this finding (s3://%s/%sforensic-commands.json)", bucket, prefix)
    elseif not agent then
      why_not = string.format("%s is not managed by SSM", id)
    elseif ctx.state.response == "contain" and not ctx.env.QUARANTINE_PROFILE_ARN then
      why_not = "no QUARANTINE_PROFILE_ARN to give the SSM agent credentials"
    elseif ctx.state.response == "contain" and role_why then
      why_not = role_why
    elseif ctx.state.response == "contain" and not next(config.forensics.egress or {}) then
      why_not = "config.forensics.egress names no VPC endpoint group or prefix list, "
        .. "and the isolated instance is never opened to the internet"
    elseif ctx.state.response == "evidence" and agent.PingStatus ~= "Online" then
      why_not = string.format("the SSM agent of %s is %s", id, tostring(agent.PingStatus))
    end
  end
  if why_not then
    note(ctx, "forensic commands skipped: %s", why_not)
  end
  ctx.state.evidence_prefix = prefix
  ctx.state.forensics = why_not == nil
end

-- The instances other than this one whose quarantine sessions may be live
-- now: every association of the quarantine profile in the region (one
-- listing, paged by NextToken, at most 10 pages).
local function other_quarantined(ctx)
  local quarantine, others, token = ctx.env.QUARANTINE_PROFILE_ARN, {}, nil
  for _ = 1, 10 do
    local r = ec2.describe_iam_instance_profile_associations {
      Filters = { { Name = "state", Values = { "associating", "associated" } } }, NextToken = token,
    }
    for _, a in ipairs(r.IamInstanceProfileAssociations or {}) do
      if a.IamInstanceProfile and a.IamInstanceProfile.Arn == quarantine and a.InstanceId ~= ctx.state.instance_id then
        others[#others + 1] = a.InstanceId
      end
    end
    token = r.NextToken
    if not token or token == "" then
      break
    end
  end
  table.sort(others)
  return others
end

-- revoke_quarantine_sessions: the quarantine role's sessions issued before
-- now are denied everything, as the IAM playbook revokes any role's
-- (lib/principal.lua: the inline deny config.iam.revoke_policy_name with
-- aws:TokenIssueTime DateLessThan now): credentials an attacker copied off
-- the instance during the window are worth nothing from now on.
-- The role is one for every instance, so the deny would also end the
-- sessions of another instance whose forensics run at this moment (its
-- agent could no longer reach SSM or write its output until EC2 gave it
-- new credentials, hours later): the sessions of every other instance that
-- has the quarantine profile now are left out of the deny by their
-- aws:userid ("<RoleId>:<instance id>"). That run revokes them when it ends
-- (each deny replaces the one before, with a later time). Only a forensic
-- window opened between the listing and the write loses its session.
-- Not saved for restore: it closes deadbolt's own role, not the instance's
-- state.
local function revoke_quarantine_sessions(ctx)
  local role, at = ctx.state.quarantine_role, now()
  local statement = {
    Sid = "DeadboltRevokeOlderSessions", Effect = "Deny", Action = { "*" }, Resource = { "*" },
    Condition = { DateLessThan = { ["aws:TokenIssueTime"] = at } },
  }
  local others = other_quarantined(ctx)
  if #others > 0 then
    local live = {}
    for i, instance in ipairs(others) do
      live[i] = role.id .. ":" .. instance
    end
    statement.Condition.StringNotLike = { ["aws:userid"] = live }
  end
  iam.put_role_policy {
    RoleName = role.name, PolicyName = config.iam.revoke_policy_name,
    PolicyDocument = json.encode({ Version = "2012-10-17", Statement = { statement } }),
  }
  note(ctx, "policy %s on the quarantine role %s denies every session issued before %s%s", config.iam.revoke_policy_name,
    role.name, at, #others > 0 and (" except those of " .. table.concat(others, ",") .. ", whose forensics are under way") or "")
end

-- The tasks of cut_ties_and_keep_evidence, in order. find: the reads a
-- task decides on, which look_ahead makes beside isolation.
local CUT_TIES = {
  { name = "detach_from_auto_scaling", run = detach_from_auto_scaling, find = auto_scaling_groups,
    when = function(ctx) return containing(ctx) and cfg.detach_from_auto_scaling end },
  { name = "remove_instance_profile", run = remove_instance_profile, find = instance_profile_associations,
    when = function(ctx) return containing(ctx) and cfg.remove_instance_profile end },
  { name = "deregister_from_load_balancers", run = deregister_from_load_balancers, find = classic_load_balancers,
    when = function(ctx) return containing(ctx) and cfg.deregister_from_load_balancers end },
  { name = "deregister_from_target_groups", run = deregister_from_target_groups, find = target_registrations,
    when = function(ctx) return containing(ctx) and cfg.deregister_from_load_balancers end },
  { name = "tag_instance", run = tag_instance },
  { name = "snapshot_volumes", run = snapshot_volumes, find = finding_snapshots,
    when = function() return cfg.snapshots end },
  { name = "store_evidence", run = store_evidence },
  { name = "check_forensic_access", run = check_forensic_access, find = forensic_facts,
    when = function() return config.forensics.enabled end },
}

-- look_ahead, beside isolation: the reads of the tasks above (their find),
-- together, so that right after isolation their step only writes. The
-- lock is held: what they read stays as read unless something other than
-- deadbolt changes it in the seconds isolation takes. A read that fails
-- here is made again by its task (ahead).
local function look_ahead(ctx)
  ctx.state.ahead = {}
  local reads = {}
  for _, task in ipairs(CUT_TIES) do
    if task.find and (not task.when or task.when(ctx)) then
      reads[#reads + 1] = function()
        local ok, found = pcall(task.find, ctx)
        if ok then
          ctx.state.ahead[task.find] = { found }
        end
      end
    end
  end
  aws.all(reads)
end

-- ---------------------------------------------------------------------------
-- The runbook

return {
  name = "ec2",
  handles = {
    { resource_type = "Instance", finding_type = "^Execution:EC2/MaliciousFile",
      skip = "a Malware Protection scan result: the scan's volumes, not a live instance to contain" },
    { resource_type = "Instance", finding_type = "^Execution:EC2/SuspiciousFile",
      skip = "a Malware Protection scan result: the scan's volumes, not a live instance to contain" },
    { resource_type = "Instance", finding_type = "^AttackSequence:",
      skip = "an attack sequence: respond to the findings it is made of" },
    { resource_type = "Instance" },
  },
  steps = {
    {
      name = "check_finding",
      why = "a malformed instance id is rejected before any call uses it",
      critical = true,
      run = function(ctx)
        local details = ctx.finding.resource.instanceDetails
        ctx.state.instance_id = validate.instance_id(details and details.instanceId,
          "resource.instanceDetails.instanceId")
        ctx.state.headline = "instance " .. ctx.state.instance_id
      end,
    },
    {
      name = "choose_response",
      why = "the team decides, by finding type, severity and resource role, what is contained",
      run = function(ctx)
        policy.respond(ctx, cfg)
        note(ctx, "response: %s (%s)", ctx.state.response, ctx.state.response_why)
      end,
    },
    {
      name = "look_up_instance",
      why = "an instance that is gone or exempt is left alone",
      critical = true,
      run = function(ctx)
        local id = ctx.state.instance_id
        -- The lock beside the lookup: its key needs only the instance id.
        local r, err
        aws.all {
          function() r, err = aws.try(ec2.describe_instances, { InstanceIds = { id } }) end,
          function()
            if responding(ctx) then
              local ok, waited = pcall(lock.acquire, ctx, id)
              ctx.state.lock_waited, ctx.state.lock_error = ok and waited, not ok and waited or nil
            end
          end,
        }
        -- Nothing will be done: the lock is given back first.
        local function skip(why)
          lock.release(ctx)
          ctx.skip(why)
        end
        if not r then
          if aws.is(err, "InvalidInstanceID.NotFound") then
            skip("instance " .. id .. " no longer exists")
          end
          lock.release(ctx)
          error(err)
        end
        local reservation = r.Reservations and r.Reservations[1]
        local inst = reservation and reservation.Instances and reservation.Instances[1]
        local state = inst and inst.State and inst.State.Name
        if not inst or state == "terminated" or state == "shutting-down" then
          skip("instance " .. id .. " no longer exists" .. (state and " (" .. state .. ")" or ""))
        end
        if tag_value(inst.Tags, cfg.exempt_tag.key) == cfg.exempt_tag.value then
          skip(string.format("instance %s is exempt (tag %s=%s)", id, cfg.exempt_tag.key, cfg.exempt_tag.value))
        end
        ctx.state.instance = inst
        ctx.state.record = r
        note(ctx, "instance %s is %s in %s", id, tostring(state), tostring(inst.VpcId))
      end,
    },
    {
      name = "take_lock",
      why = "runs of several findings for one instance take turns instead of undoing each other",
      when = function(ctx)
        local yes, why = responding(ctx)
        if not yes then
          return false, why
        end
        return ctx.state.lock_waited or ctx.state.lock_error ~= nil, "taken beside look_up_instance"
      end,
      run = function(ctx)
        if ctx.state.lock_error then
          error(ctx.state.lock_error, 0)
        end
        -- After a wait, the instance as the other run left it.
        do
          local r = ec2.describe_instances { InstanceIds = { ctx.state.instance_id } }
          local inst = r.Reservations and r.Reservations[1] and r.Reservations[1].Instances
            and r.Reservations[1].Instances[1]
          if inst then
            ctx.state.instance, ctx.state.record = inst, r
          end
        end
      end,
    },
    {
      name = "isolate_network",
      why = "the instance can reach nothing and nothing can reach it, existing connections included",
      critical = true,
      when = containing,
      run = function(ctx)
        ctx.state.beside_failed = {}
        local failure
        -- The chain's calls go before the others' when a service's
        -- concurrent calls are at their cap (aws.first).
        aws.all {
          beside(ctx, "keep_evidence_early", keep_evidence_early),
          beside(ctx, "protect_instance", protect_instance),
          aws.first(function()
            local ok, err = pcall(isolate, ctx)
            failure = not ok and err or nil
          end),
          beside(ctx, "look_ahead", look_ahead),
        }
        if failure then
          error(failure, 0)
        end
      end,
    },
    {
      name = "protect_instance",
      why = "nobody can terminate or stop the instance, or lose its volumes: what failed beside isolation, again",
      when = function(ctx)
        return containing(ctx) and (ctx.state.beside_failed or {}).protect_instance ~= nil,
          "done beside isolate_network"
      end,
      run = protect_instance,
    },
    {
      name = "cut_ties_and_keep_evidence",
      why = "Auto Scaling, the instance profile and the load balancers let go of it; its disks, record and screen are kept; all at once",
      when = responding,
      run = function(ctx) tasks.run(ctx, CUT_TIES) end,
    },
    {
      name = "open_forensic_access",
      why = "the SSM agent gets credentials (the quarantine profile) and tcp/443 out, only while the commands run",
      when = function(ctx) return containing(ctx) and ctx.state.forensics end,
      run = function(ctx)
        local id, profile = ctx.state.instance_id, ctx.env.QUARANTINE_PROFILE_ARN
        ctx.state.forensic_window = true -- end_forensics closes whatever part of it opened
        validate.instance_profile_arn(profile, "QUARANTINE_PROFILE_ARN")
        ctx.state.forensics = false -- until the agent is reachable
        move_again(ctx, "before the forensic window")
        for _, group in ipairs(isolation_group_ids(ctx)) do
          ctx.state.forensic_egress_opened = true
          isolation.open_forensic_egress(ctx, group)
        end
        -- An instance has one profile association at most: when another
        -- run's forensics has the quarantine profile attached, it is used
        -- as it is and left to that run to remove (not fought over).
        local theirs
        for _, a in ipairs(profile_associations(id)) do
          if a.IamInstanceProfile and a.IamInstanceProfile.Arn == profile then
            theirs = a.AssociationId
          end
        end
        if theirs then
          ctx.state.quarantine_shared = theirs
          note(ctx, "quarantine instance profile already attached (%s, another run's): used as it is", theirs)
        else
          local associated = ec2.associate_iam_instance_profile { InstanceId = id, IamInstanceProfile = { Arn = profile } }
          ctx.state.quarantine_association = associated.IamInstanceProfileAssociation
            and associated.IamInstanceProfileAssociation.AssociationId
          note(ctx, "quarantine instance profile attached for the SSM agent")
        end
        if not forensics.wait_until_online(id) then
          error(string.format("the SSM agent of %s was not online within %d s", id,
            config.forensics.agent_wait_seconds), 0)
        end
        ctx.state.forensics = true
      end,
    },
    {
      name = "run_forensic_commands",
      why = "what ran on the instance and what it was connected to, seen from inside, without logging in",
      when = function(ctx) return responding(ctx) and ctx.state.forensics end,
      run = function(ctx)
        local id, bucket, prefix = ctx.state.instance_id, ctx.env.ARTIFACT_BUCKET, ctx.state.evidence_prefix
        -- Under the quarantine role the agent may write only under
        -- forensics/<its aws:userid>/ (template.yaml). Without it (evidence
        -- only: the instance keeps its own profile, whose credentials the
        -- attacker may hold) the agent writes nothing to the artifact
        -- bucket: the output is what GetCommandInvocation returns.
        local role, key_prefix, output = ctx.state.quarantine_role, nil, nil
        if role then
          key_prefix = string.format("forensics/%s:%s/%s/output", role.id, id, ctx.id)
          output = string.format("s3://%s/%s/", bucket, key_prefix)
        end
        local command_id = forensics.send(ctx, id, bucket, key_prefix)
        note(ctx, "forensic commands sent (%s), output to %s", tostring(command_id),
          output or "the invocation only (GetCommandInvocation keeps its first 24,000 characters)")
        local inv = forensics.wait_until_finished(command_id, id)
        if not inv then
          error(string.format("forensic commands %s still running after %d s", command_id,
            config.forensics.command_wait_seconds), 0)
        end
        note(ctx, "forensic commands ended %s (exit code %s)", inv.Status, tostring(inv.ResponseCode))
        local record = json.encode(forensics.record(command_id, inv, output))
        local artifact = evidence.put(bucket, prefix .. "forensic-commands.json", record, "application/json")
        -- evidence is never overwritten: the first manifest stays, this one goes beside it
        evidence.write_manifest(ctx, bucket, prefix, id, { artifact }, {}, "forensic-commands.manifest.json")
      end,
    },
    {
      name = "end_forensics",
      why = "the forensic egress rule and the quarantine profile go as soon as the commands are done",
      -- Without a window of this run's, there is nothing to close: one an
      -- earlier run left open was closed by isolate_network, and one
      -- another run holds is that run's.
      when = function(ctx)
        local yes, why = containing(ctx)
        if not yes then
          return false, why
        end
        return ctx.state.forensic_window == true, "this run opened no forensic window"
      end,
      run = function(ctx)
        local profile, known = ctx.env.QUARANTINE_PROFILE_ARN, ctx.state.quarantine_association
        aws.all {
          -- The quarantine profile this run attached, by the id its
          -- association answered.
          function()
            if known then
              ec2.disassociate_iam_instance_profile { AssociationId = known }
              note(ctx, "quarantine instance profile removed")
            end
          end,
          -- Any other association of the quarantine profile (one a stopped
          -- run left behind), found by its ARN.
          function()
            for _, a in ipairs(profile and profile_associations(ctx.state.instance_id) or {}) do
              if a.AssociationId ~= known and a.AssociationId ~= ctx.state.quarantine_shared
                  and a.IamInstanceProfile and a.IamInstanceProfile.Arn == profile then
                ec2.disassociate_iam_instance_profile { AssociationId = a.AssociationId }
                note(ctx, "quarantine instance profile %s removed (left behind)", a.AssociationId)
              end
            end
          end,
          -- The isolation groups: back to no rules at all.
          function()
            isolation.close_forensic_egress(ctx, isolation_group_ids(ctx), ctx.state.forensic_egress_opened)
          end,
        }
        -- Once both are gone: the two moves again (a connection of the
        -- window dies) and, when this run attached the profile, the
        -- quarantine role's sessions revoked.
        if not ctx.state.forensic_egress_opened then
          return
        end
        aws.all {
          function() move_again(ctx, "after the forensic window") end,
          function()
            if known and ctx.state.quarantine_role then
              revoke_quarantine_sessions(ctx)
            end
          end,
        }
      end,
    },
    {
      name = "release_lock",
      why = "the next run for this instance may go on",
      when = function(ctx)
        if ctx.env.NOTIFICATION_TOPIC_ARN then
          return false, "released beside the notification"
        end
        return ctx.state.locks ~= nil and #ctx.state.locks > 0, "no lock taken"
      end,
      run = lock.release,
    },
    -- With a topic, the lock is released beside the message: no round trip of its own.
    notify.step(lock.release),
  },
}
