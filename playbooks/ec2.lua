-- ec2 — contain a compromised EC2 instance, keep the evidence, destroy nothing.
--
-- THE ORDER, AND WHY
--
-- The sample this replaces isolated the instance last, after up to a minute
-- of waiting on SSM. Here the instance is cut off after a handful of quick
-- calls, and every slow thing comes after:
--
--   1. check_finding, choose_response, look_up_instance — reads only.
--      Nothing changes for a malformed finding, an exempt or a gone instance.
--   2. capture_screenshot — one read: the console as the attacker left it.
--      Volatile, so it comes before anything changes; its upload waits until
--      after isolation (the bytes are kept in ctx.state meanwhile).
--   3. protect_instance — termination and stop protection, shutdown
--      behaviour "stop", DeleteOnTermination=false. Before isolation on
--      purpose: isolation is visible from inside (connections drop), and an
--      attacker who then runs `shutdown` on an instance whose shutdown
--      behaviour is "terminate" would destroy it and its disks.
--   4. isolate_network — critical. Two moves per ENI, as AWS's own
--      containment runbook does: a group allowing all traffic in and out
--      first (flows allowed that way are not tracked, so existing
--      connections lose their tracking), then the isolation group with no
--      rules, which cuts them.
--   5. detach_from_auto_scaling — right after isolation: an isolated
--      instance fails its health checks, and Auto Scaling replaces unhealthy
--      instances by terminating them (termination protection does not stop
--      Auto Scaling).
--   6. remove_instance_profile — no new credentials from the instance
--      metadata service. (Credentials already taken stay valid until they
--      expire: that is the IAM playbook's job, on the credential finding.)
--   7. deregister_from_load_balancers, deregister_from_target_groups — no
--      traffic sent to an instance that can no longer answer.
--   8. tag_instance, snapshot_volumes, store_evidence — records for people,
--      disk evidence (CreateSnapshot returns at once; the copy is AWS's),
--      then the instance record and screenshot with their SHA-256 manifest.
--   9. check_forensic_access, open_forensic_access, run_forensic_commands,
--      end_forensics — the slow part, last: the quarantine profile, a
--      bounded wait for the SSM agent, the commands, a bounded wait for them.
--      The agent needs HTTPS out to reach SSM and to write its output to S3,
--      which the isolation group blocks: while the commands run, and only
--      then, the isolation group gets ONE egress rule, tcp/443 to
--      config.forensics.egress: the security group of the VPC's interface
--      endpoints for ssm, ec2messages and ssmmessages, and S3's gateway
--      endpoint prefix list. Never an address range (the sandbox refuses
--      one): an isolated instance is never open to the internet, so without
--      endpoints named in the config, forensics on a contained instance is
--      skipped and says why. end_forensics is its own step so
--      that it runs even when the commands failed: it revokes that rule and
--      takes the quarantine profile off again.
--  10. notify — one summary. (A finding only notified about, or with
--      evidence collected only, ends "skipped" with why, not "contained":
--      choose_response tells the runner, which decides the outcome.)
--
-- Every change saves the state it changed from (ctx.save), for restore.
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

-- Whether group_id is one of deadbolt's groups for this instance: an ENI a
-- run already moved must not be saved as if that were its original state.
local function is_our_group(ctx, group_id)
  for _, groups in pairs(ctx.state.groups or {}) do
    if groups.isolation == group_id or groups.untrack == group_id then
      return true
    end
  end
  return false
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
        local r, err = aws.try(ec2.describe_instances, { InstanceIds = { id } })
        if not r then
          if aws.is(err, "InvalidInstanceID.NotFound") then
            ctx.skip("instance " .. id .. " no longer exists")
          end
          error(err)
        end
        local reservation = r.Reservations and r.Reservations[1]
        local inst = reservation and reservation.Instances and reservation.Instances[1]
        local state = inst and inst.State and inst.State.Name
        if not inst or state == "terminated" or state == "shutting-down" then
          ctx.skip("instance " .. id .. " no longer exists" .. (state and " (" .. state .. ")" or ""))
        end
        if tag_value(inst.Tags, cfg.exempt_tag.key) == cfg.exempt_tag.value then
          ctx.skip(string.format("instance %s is exempt (tag %s=%s)", id, cfg.exempt_tag.key, cfg.exempt_tag.value))
        end
        ctx.state.instance = inst
        ctx.state.record = r
        note(ctx, "instance %s is %s in %s", id, tostring(state), tostring(inst.VpcId))
      end,
    },
    {
      name = "capture_screenshot",
      why = "the console as the attacker left it, before anything changes",
      when = responding,
      run = function(ctx)
        local r, err = aws.try(ec2.get_console_screenshot, { InstanceId = ctx.state.instance_id })
        if not r then -- stopped, not Nitro, ...: journaled, not fatal
          note(ctx, "no console screenshot: %s", tostring(err))
          ctx.state.screenshot_error = tostring(err)
          return
        end
        ctx.state.screenshot = r.ImageData
      end,
    },
    {
      name = "protect_instance",
      why = "nobody can terminate or stop the instance, or lose its volumes, once it is isolated",
      when = containing,
      run = function(ctx)
        local id = ctx.state.instance_id
        local wanted = {}
        if cfg.termination_protection then
          wanted[#wanted + 1] = { attribute = "disableApiTermination", member = "DisableApiTermination", value = true }
        end
        if cfg.stop_protection then
          wanted[#wanted + 1] = { attribute = "disableApiStop", member = "DisableApiStop", value = true }
        end
        if cfg.shutdown_behavior_stop then
          wanted[#wanted + 1] = { attribute = "instanceInitiatedShutdownBehavior",
                                  member = "InstanceInitiatedShutdownBehavior", value = "stop" }
        end
        local before = {}
        local work = {}
        for _, w in ipairs(wanted) do
          work[#work + 1] = function()
            local current = ec2.describe_instance_attribute { InstanceId = id, Attribute = w.attribute }
            local value = current[w.member] and current[w.member].Value
            if value == w.value then
              return
            end
            before[w.member] = value
            ctx.save("attributes", before)
            ec2.modify_instance_attribute { InstanceId = id, [w.member] = { Value = w.value } }
            note(ctx, "%s: %s -> %s", w.member, tostring(value), tostring(w.value))
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
        aws.each(work, function(fn) fn() end)
      end,
    },
    {
      name = "isolate_network",
      why = "the instance can reach nothing and nothing can reach it, existing connections included",
      critical = true,
      when = containing,
      run = function(ctx)
        local inst = ctx.state.instance
        local enis = inst.NetworkInterfaces or {}
        if #enis == 0 then
          error("instance " .. ctx.state.instance_id .. " has no network interface to isolate", 0)
        end
        ctx.state.groups = {}
        for _, eni in ipairs(enis) do
          local vpc = eni.VpcId or inst.VpcId
          if not ctx.state.groups[vpc] then
            ctx.state.groups[vpc] = { isolation = isolation.isolation_group(ctx, vpc),
                                      untrack = isolation.untrack_group(ctx, vpc) }
          end
        end
        local saved = {}
        aws.each(enis, function(eni)
          local groups = ctx.state.groups[eni.VpcId or inst.VpcId]
          local current = group_ids(eni.Groups)
          if #current == 1 and current[1] == groups.isolation then
            note(ctx, "%s is already isolated", eni.NetworkInterfaceId)
            return
          end
          local original = {}
          for _, g in ipairs(current) do
            if not is_our_group(ctx, g) then
              original[#original + 1] = g
            end
          end
          if #original > 0 then
            saved[eni.NetworkInterfaceId] = original
            ctx.save("eni_groups", saved)
          end
          ec2.modify_network_interface_attribute { NetworkInterfaceId = eni.NetworkInterfaceId, Groups = { groups.untrack } }
          ec2.modify_network_interface_attribute { NetworkInterfaceId = eni.NetworkInterfaceId, Groups = { groups.isolation } }
          note(ctx, "%s isolated in %s (was %s)", eni.NetworkInterfaceId, groups.isolation, table.concat(current, ","))
        end)
      end,
    },
    {
      name = "detach_from_auto_scaling",
      why = "Auto Scaling would terminate the isolated instance as unhealthy; detached, it is kept and replaced",
      when = function(ctx) return containing(ctx) and cfg.detach_from_auto_scaling end,
      run = function(ctx)
        local id = ctx.state.instance_id
        local r = autoscaling.describe_auto_scaling_instances { InstanceIds = { id } }
        local names = {}
        for _, a in ipairs(r.AutoScalingInstances or {}) do
          names[#names + 1] = a.AutoScalingGroupName
        end
        if #names == 0 then
          return
        end
        ctx.save("auto_scaling_groups", names)
        aws.each(names, function(name)
          autoscaling.detach_instances { InstanceIds = { id }, AutoScalingGroupName = name,
                                         ShouldDecrementDesiredCapacity = false }
          note(ctx, "detached from Auto Scaling group %s (desired capacity kept)", name)
        end)
      end,
    },
    {
      name = "remove_instance_profile",
      why = "the instance gets no new credentials for its role",
      when = function(ctx) return containing(ctx) and cfg.remove_instance_profile end,
      run = function(ctx)
        local associations = profile_associations(ctx.state.instance_id)
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
      end,
    },
    {
      name = "deregister_from_load_balancers",
      why = "no classic load balancer sends it traffic",
      when = function(ctx) return containing(ctx) and cfg.deregister_from_load_balancers end,
      run = function(ctx)
        local id = ctx.state.instance_id
        local names = {}
        for _, lb in ipairs(aws.all_pages(elb.describe_load_balancers, {}, "LoadBalancerDescriptions")) do
          for _, member in ipairs(lb.Instances or {}) do
            if member.InstanceId == id then
              names[#names + 1] = lb.LoadBalancerName
            end
          end
        end
        if #names == 0 then
          return
        end
        ctx.save("classic_load_balancers", names)
        aws.each(names, function(name)
          elb.deregister_instances_from_load_balancer { LoadBalancerName = name, Instances = { { InstanceId = id } } }
          note(ctx, "deregistered from classic load balancer %s", name)
        end)
      end,
    },
    {
      name = "deregister_from_target_groups",
      why = "no target group sends it traffic, on any port",
      when = function(ctx) return containing(ctx) and cfg.deregister_from_load_balancers end,
      run = function(ctx)
        local id, vpc = ctx.state.instance_id, ctx.state.instance.VpcId
        local registrations = {}
        for _, tg in ipairs(aws.all_pages(elbv2.describe_target_groups, {}, "TargetGroups")) do
          if tg.TargetType == "instance" and (vpc == nil or tg.VpcId == vpc) then
            local health = elbv2.describe_target_health { TargetGroupArn = tg.TargetGroupArn }
            local targets = {}
            for _, d in ipairs(health.TargetHealthDescriptions or {}) do
              if d.Target.Id == id then
                targets[#targets + 1] = { Id = d.Target.Id, Port = d.Target.Port }
              end
            end
            if #targets > 0 then
              registrations[#registrations + 1] = { TargetGroupArn = tg.TargetGroupArn, Targets = targets }
            end
          end
        end
        if #registrations == 0 then
          return
        end
        ctx.save("target_groups", registrations)
        aws.each(registrations, function(reg)
          elbv2.deregister_targets(reg)
          note(ctx, "deregistered from target group %s (%d port(s))", reg.TargetGroupArn, #reg.Targets)
        end)
      end,
    },
    {
      name = "tag_instance",
      why = "whoever finds the instance sees why it is isolated, and by which finding",
      when = responding,
      run = function(ctx)
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
          local old = tag_value(ctx.state.instance.Tags, key)
          if old then
            before.existed[#before.existed + 1] = { Key = key, Value = old }
          else
            before.absent[#before.absent + 1] = key
          end
        end
        table.sort(tags, function(a, b) return a.Key < b.Key end)
        ctx.save("tags", before)
        ec2.create_tags { Resources = { ctx.state.instance_id }, Tags = tags }
      end,
    },
    {
      name = "snapshot_volumes",
      why = "the disks as they are now, kept whatever happens to the instance; once per volume per finding",
      when = function(ctx) return responding(ctx) and cfg.snapshots end,
      run = function(ctx)
        local id = ctx.state.instance_id
        local finding_tag = cfg.tags.finding_id or "deadbolt:finding-id"
        aws.each(ebs_volumes(ctx.state.instance), function(v)
          local existing = ec2.describe_snapshots {
            OwnerIds = { "self" },
            Filters = { { Name = "volume-id", Values = { v.volume } },
                        { Name = "tag:" .. finding_tag, Values = { ctx.id } } },
          }
          if existing.Snapshots and existing.Snapshots[1] then
            note(ctx, "%s already has snapshot %s for this finding", v.volume, existing.Snapshots[1].SnapshotId)
            return
          end
          local snap = ec2.create_snapshot {
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
          }
          note(ctx, "snapshot %s of %s (%s)", tostring(snap.SnapshotId), v.volume, tostring(v.device))
        end)
      end,
    },
    {
      name = "store_evidence",
      why = "the instance record and the screenshot, in the artifact bucket with their SHA-256",
      when = responding,
      run = function(ctx)
        local bucket = ctx.env.ARTIFACT_BUCKET
        if not bucket then
          note(ctx, "no ARTIFACT_BUCKET: the instance record and screenshot were not stored")
          return
        end
        local prefix = evidence.prefix(ctx, ctx.state.instance_id)
        ctx.state.evidence_location = string.format("s3://%s/%s", bucket, prefix)
        ctx.state.evidence_prefix = prefix
        if evidence.exists(bucket, prefix .. config.evidence.manifest) then
          note(ctx, "evidence for this finding is already at s3://%s/%s: not overwritten", bucket, prefix)
          ctx.state.evidence_stored_before = true
          return
        end
        local artifacts = {}
        artifacts[#artifacts + 1] = evidence.put(bucket, prefix .. "describe-instances.json",
          json.encode(ctx.state.record), "application/json")
        local notes = {}
        if ctx.state.screenshot then
          local image, why = base64.decode(ctx.state.screenshot)
          if image then
            local file, content_type = screenshot_file(image)
            artifacts[#artifacts + 1] = evidence.put(bucket, prefix .. file, image, content_type)
          else
            notes[#notes + 1] = "the screenshot was not base64 (" .. why .. "): stored as received"
            artifacts[#artifacts + 1] = evidence.put(bucket, prefix .. "screenshot.b64", ctx.state.screenshot, "text/plain")
          end
        else
          notes[#notes + 1] = "no console screenshot: " .. tostring(ctx.state.screenshot_error)
        end
        local key = evidence.write_manifest(ctx, bucket, prefix, ctx.state.instance_id, artifacts, notes)
        note(ctx, "evidence stored: %d object(s), manifest s3://%s/%s", #artifacts, bucket, key)
      end,
    },
    {
      name = "check_forensic_access",
      why = "the forensic commands need SSM to manage the running instance, and a bucket for their output",
      when = function(ctx) return responding(ctx) and config.forensics.enabled end,
      run = function(ctx)
        local id, bucket, prefix = ctx.state.instance_id, ctx.env.ARTIFACT_BUCKET, ctx.state.evidence_prefix
        local state = ctx.state.instance.State and ctx.state.instance.State.Name
        local why_not
        if not bucket or not prefix then
          why_not = "no artifact bucket for their output"
        elseif evidence.exists(bucket, prefix .. "forensic-commands.json") then
          why_not = string.format("they already ran for this finding (s3://%s/%sforensic-commands.json)", bucket, prefix)
        elseif state ~= "running" then
          why_not = string.format("%s is %s", id, tostring(state))
        else
          local agent = forensics.agent(id)
          if not agent then
            why_not = string.format("%s is not managed by SSM", id)
          elseif ctx.state.response == "contain" and not ctx.env.QUARANTINE_PROFILE_ARN then
            why_not = "no QUARANTINE_PROFILE_ARN to give the SSM agent credentials"
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
        ctx.state.forensics = why_not == nil
      end,
    },
    {
      name = "open_forensic_access",
      why = "the SSM agent gets credentials (the quarantine profile) and tcp/443 out, only while the commands run",
      when = function(ctx) return containing(ctx) and ctx.state.forensics end,
      run = function(ctx)
        local id, profile = ctx.state.instance_id, ctx.env.QUARANTINE_PROFILE_ARN
        validate.instance_profile_arn(profile, "QUARANTINE_PROFILE_ARN")
        ctx.state.forensics = false -- until the agent is reachable
        for _, group in ipairs(isolation_group_ids(ctx)) do
          ctx.state.forensic_egress_opened = true
          isolation.open_forensic_egress(ctx, group)
        end
        local associated = ec2.associate_iam_instance_profile { InstanceId = id, IamInstanceProfile = { Arn = profile } }
        ctx.state.quarantine_association = associated.IamInstanceProfileAssociation
          and associated.IamInstanceProfileAssociation.AssociationId
        note(ctx, "quarantine instance profile attached for the SSM agent")
        if not ctx.dry_run and not forensics.wait_until_online(id) then
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
        local output = string.format("s3://%s/%sforensics/", bucket, prefix)
        local command_id = forensics.send(ctx, id, bucket, prefix .. "forensics")
        note(ctx, "forensic commands sent (%s), output to %s", tostring(command_id), output)
        if ctx.dry_run then
          return
        end
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
      when = containing,
      run = function(ctx)
        local work = {}
        -- The quarantine profile, found by its ARN: one a stopped run left
        -- behind goes too.
        local profile = ctx.env.QUARANTINE_PROFILE_ARN
        local associations = profile and profile_associations(ctx.state.instance_id) or {}
        if ctx.dry_run and ctx.state.quarantine_association then
          associations = { { AssociationId = ctx.state.quarantine_association, IamInstanceProfile = { Arn = profile } } }
        end
        for _, a in ipairs(associations) do
          if a.IamInstanceProfile and a.IamInstanceProfile.Arn == profile then
            work[#work + 1] = function()
              ec2.disassociate_iam_instance_profile { AssociationId = a.AssociationId }
              note(ctx, "quarantine instance profile removed")
            end
          end
        end
        -- The isolation groups: back to no rules at all (in a dry run, only
        -- if this run would have opened them).
        if not ctx.dry_run or ctx.state.forensic_egress_opened then
          work[#work + 1] = function()
            isolation.close_forensic_egress(ctx, isolation_group_ids(ctx))
          end
        end
        aws.each(work, function(fn) fn() end)
      end,
    },
    notify.step(),
  },
}
