-- undo — the undo records of a live run, and restore.
--
-- Runs in a host Lua state, never in a playbook's sandbox: a playbook cannot
-- reach it. Compiled into the binary (tools/gen_undo_lua.py writes
-- engine/run/undo_lua.c from this file; regenerate after editing).
--
-- Recording (M.observe, called by engine/run/undo.c after every call a live
-- run sent): reads are kept as the state before (the first read of a thing
-- wins); each write with an undo builder below gives one record per thing it
-- changed:
--   { key, op, step, before, after, source, undo = { op, params } or nil, why }
-- key names the thing changed ("eni:eni-1", "attr:i-1:DisableApiTermination"):
-- restore collapses the records of one key to the earliest before-state and
-- the latest after-state (the two-step ENI move). source says where the
-- before-state came from: "read" (an answer this run decoded), "request" or
-- "response" (the write itself), or "none" (no undo possible: why says).
--
-- Restore (M.restore): the records of a journal, collapsed by key, undone in
-- reverse order; before each undo a read checks the thing is still as the
-- containment left it (after), finds it already restored (before), or
-- refuses it as changed unless forced. Every call goes through the sandbox
-- in restore mode (engine/run/restore.c); an undo call carries its record
-- ({ [key] = { before, after } }), and the sandbox's rules let it loosen
-- only back to that before-state, or refuse it (code "Deadbolt.Refused").
local json = ...
local M = {}

local function copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = copy(x) end
  return t
end

local function equal(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do if not equal(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local function sorted_ids(groups, field)
  local ids = {}
  for _, g in ipairs(groups or {}) do
    ids[#ids + 1] = type(g) == "table" and g[field or "GroupId"] or g
  end
  table.sort(ids)
  return ids
end

local function url_decoded(s)
  if type(s) ~= "string" or not s:find("%%") then return s end
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- A policy document as a table when it is JSON (IAM reorders nothing, but
-- compares by meaning here all the same).
local function policy_value(doc)
  doc = url_decoded(doc)
  local ok, t = pcall(json.decode, doc or "")
  if ok and type(t) == "table" then return t end
  return doc
end

local function lower_first(s)
  return s:sub(1, 1):lower() .. s:sub(2)
end

---------------------------------------------------------------- recording

local state = { id = nil, facts = {} }

local function fact(key) return state.facts[key] end
local function learn(key, value)
  if state.facts[key] == nil then state.facts[key] = value end
end

-- The reads: what the run saw before it changed anything.
local readers = {}

readers["ec2.DescribeInstances"] = function(params, result)
  for _, r in ipairs(result.Reservations or {}) do
    for _, i in ipairs(r.Instances or {}) do
      local tags = {}
      for _, t in ipairs(i.Tags or {}) do tags[t.Key] = t.Value end
      learn("tags:" .. i.InstanceId, tags)
      learn("profile:" .. i.InstanceId, { arn = i.IamInstanceProfile and i.IamInstanceProfile.Arn or false })
      for _, eni in ipairs(i.NetworkInterfaces or {}) do
        learn("eni:" .. eni.NetworkInterfaceId, sorted_ids(eni.Groups))
        learn("eni-index:" .. eni.NetworkInterfaceId, eni.Attachment and eni.Attachment.DeviceIndex)
      end
      for _, m in ipairs(i.BlockDeviceMappings or {}) do
        if m.Ebs and m.Ebs.DeleteOnTermination ~= nil then
          learn("dot:" .. i.InstanceId .. ":" .. m.DeviceName, m.Ebs.DeleteOnTermination)
        end
      end
    end
  end
end

readers["ec2.DescribeNetworkInterfaces"] = function(params, result)
  for _, eni in ipairs(result.NetworkInterfaces or {}) do
    learn("eni:" .. eni.NetworkInterfaceId, sorted_ids(eni.Groups))
  end
end

readers["ec2.DescribeInstanceAttribute"] = function(params, result)
  for member, v in pairs(result) do
    if type(v) == "table" and v.Value ~= nil then
      learn("attr:" .. params.InstanceId .. ":" .. member, v.Value)
    end
  end
end

readers["ec2.DescribeIamInstanceProfileAssociations"] = function(params, result)
  for _, a in ipairs(result.IamInstanceProfileAssociations or {}) do
    learn("assoc:" .. a.AssociationId, { instance = a.InstanceId, arn = a.IamInstanceProfile and a.IamInstanceProfile.Arn })
    if a.State == "associated" or a.State == "associating" then
      learn("profile:" .. a.InstanceId, { arn = a.IamInstanceProfile and a.IamInstanceProfile.Arn or false })
    end
  end
end

-- A public access block read: the bucket's (s3) or the account's (s3control).
local function block_state(result, err)
  if err == "NoSuchPublicAccessBlockConfiguration" then
    return { absent = true }
  elseif not err then
    return { config = result.PublicAccessBlockConfiguration }
  end
end

local function block_reader(kind, member)
  return function(params, result, err)
    local state = block_state(result, err)
    if state then
      learn(kind .. ":" .. params[member], state)
    end
  end
end
readers["s3.GetPublicAccessBlock"] = block_reader("pab", "Bucket")
readers["s3control.GetPublicAccessBlock"] = block_reader("apab", "AccountId")

local function policy_reader(kind, who)
  return function(params, result, err)
    local key = kind .. ":" .. params[who] .. ":" .. params.PolicyName
    if err == "NoSuchEntity" then
      learn(key, { absent = true })
    elseif not err then
      learn(key, { document = url_decoded(result.PolicyDocument) })
    end
  end
end
readers["iam.GetUserPolicy"] = policy_reader("user-policy", "UserName")
readers["iam.GetRolePolicy"] = policy_reader("role-policy", "RoleName")

readers["iam.ListAccessKeys"] = function(params, result)
  for _, k in ipairs(result.AccessKeyMetadata or {}) do
    learn("key:" .. (k.UserName or params.UserName) .. ":" .. k.AccessKeyId, k.Status)
  end
end

-- The undo builders: one per write that has an undo on the allow-list
-- (sandbox/allowlist.c names it; tests/unit checks both lists agree). Each
-- returns the records of the things the write changed.
local builders = {}

local function record(key, op, before, after, source, undo, why)
  return { key = key, op = op, before = before, after = after, source = source, undo = undo, why = why }
end

builders["ec2.ModifyNetworkInterfaceAttribute"] = function(p)
  if not p.Groups then return {} end
  local key = "eni:" .. p.NetworkInterfaceId
  local before = fact(key)
  if not before then
    return { record(key, "ec2.ModifyNetworkInterfaceAttribute", nil, sorted_ids(p.Groups), "none", nil,
      "the ENI's groups were not read before the change") }
  end
  local rec = record(key, "ec2.ModifyNetworkInterfaceAttribute", before, sorted_ids(p.Groups), "read",
    { op = "ec2.ModifyNetworkInterfaceAttribute", params = { NetworkInterfaceId = p.NetworkInterfaceId, Groups = before } })
  rec.primary = fact("eni-index:" .. p.NetworkInterfaceId) == 0 or nil
  return { rec }
end

builders["ec2.ModifyInstanceAttribute"] = function(p)
  local out, id = {}, p.InstanceId
  for member, v in pairs(p) do
    if member == "BlockDeviceMappings" then
      for _, m in ipairs(v) do
        local key = "dot:" .. id .. ":" .. m.DeviceName
        local before = fact(key)
        local after = m.Ebs and m.Ebs.DeleteOnTermination
        out[#out + 1] = record(key, "ec2.ModifyInstanceAttribute", before, after, before == nil and "none" or "read",
          before ~= nil and { op = "ec2.ModifyInstanceAttribute", params = { InstanceId = id,
            BlockDeviceMappings = { { DeviceName = m.DeviceName, Ebs = { DeleteOnTermination = before } } } } } or nil,
          before == nil and "DeleteOnTermination of " .. m.DeviceName .. " was not read before" or nil)
      end
    elseif type(v) == "table" and v.Value ~= nil then
      local key = "attr:" .. id .. ":" .. member
      local before = fact(key)
      out[#out + 1] = record(key, "ec2.ModifyInstanceAttribute", before, v.Value, before == nil and "none" or "read",
        before ~= nil and { op = "ec2.ModifyInstanceAttribute", params = { InstanceId = id, [member] = { Value = before } } } or nil,
        before == nil and member .. " was not read before the change" or nil)
    end
  end
  table.sort(out, function(a, b) return a.key < b.key end)
  return out
end

builders["ec2.CreateTags"] = function(p)
  local out = {}
  for _, res in ipairs(p.Resources or {}) do
    local tags = fact("tags:" .. res)
    -- Tags on a resource the run never read (its evidence, its own groups)
    -- are kept: restore removes the marks it made on what it contained.
    if tags then
      for _, t in ipairs(p.Tags or {}) do
        local key = "tag:" .. res .. ":" .. t.Key
        local old = tags[t.Key]
        local undo
        if old ~= nil then
          undo = { op = "ec2.CreateTags", params = { Resources = { res }, Tags = { { Key = t.Key, Value = old } } } }
        else -- with its value: AWS deletes the tag only if it still has it
          undo = { op = "ec2.DeleteTags", params = { Resources = { res }, Tags = { { Key = t.Key, Value = t.Value } } } }
        end
        out[#out + 1] = record(key, "ec2.CreateTags", old == nil and { absent = true } or { value = old },
          { value = t.Value }, "read", undo)
      end
    end
  end
  return out
end

builders["ec2.DisassociateIamInstanceProfile"] = function(p)
  local a = fact("assoc:" .. p.AssociationId)
  if not a then
    return { record("assoc:" .. p.AssociationId, "ec2.DisassociateIamInstanceProfile", nil, { arn = false }, "none", nil,
      "the association was not read before it was removed") }
  end
  local key = "profile:" .. a.instance
  local before = fact(key) or { arn = a.arn or false }
  return { record(key, "ec2.DisassociateIamInstanceProfile", before, { arn = false }, "read",
    { op = "ec2.SetInstanceProfile", params = { InstanceId = a.instance, Arn = before.arn } }) }
end

builders["ec2.AssociateIamInstanceProfile"] = function(p, r)
  local key = "profile:" .. p.InstanceId
  local before = fact(key)
  local arn = p.IamInstanceProfile.Arn or (r.IamInstanceProfileAssociation and r.IamInstanceProfileAssociation.IamInstanceProfile
    and r.IamInstanceProfileAssociation.IamInstanceProfile.Arn)
  if not before then
    return { record(key, "ec2.AssociateIamInstanceProfile", nil, { arn = arn }, "none", nil,
      "the instance's profile was not read before") }
  end
  -- the association this made: a later disassociation of it changes the same key
  learn("assoc:" .. ((r.IamInstanceProfileAssociation or {}).AssociationId or ""), { instance = p.InstanceId, arn = arn })
  return { record(key, "ec2.AssociateIamInstanceProfile", before, { arn = arn }, "read",
    { op = "ec2.SetInstanceProfile", params = { InstanceId = p.InstanceId, Arn = before.arn } }) }
end

-- Security group rules, one destination at a time, so that a rule opened
-- and closed again in the run (the forensic egress) collapses to nothing
-- whatever shape each call gave it.
local DESTS = { IpRanges = "CidrIp", Ipv6Ranges = "CidrIpv6", PrefixListIds = "PrefixListId", UserIdGroupPairs = "GroupId" }

local function rule_atoms(perms)
  local out = {}
  for _, perm in ipairs(perms or {}) do
    for list, field in pairs(DESTS) do
      for _, d in ipairs(perm[list] or {}) do
        local one = { IpProtocol = perm.IpProtocol, FromPort = perm.FromPort, ToPort = perm.ToPort,
                      [list] = { { [field] = d[field] } } }
        out[#out + 1] = { id = table.concat({ tostring(perm.IpProtocol), tostring(perm.FromPort),
          tostring(perm.ToPort), list, tostring(d[field]) }, "/"), perm = one }
      end
    end
  end
  table.sort(out, function(a, b) return a.id < b.id end)
  return out
end

local function rule_builder(op, direction, undo_op, before, after)
  return function(p)
    local out = {}
    for _, a in ipairs(rule_atoms(p.IpPermissions)) do
      out[#out + 1] = record("sg:" .. p.GroupId .. ":" .. direction .. ":" .. a.id, op, before, after, "request",
        { op = undo_op, params = { GroupId = p.GroupId, IpPermissions = { a.perm } } })
    end
    return out
  end
end
builders["ec2.AuthorizeSecurityGroupEgress"] = rule_builder("ec2.AuthorizeSecurityGroupEgress", "egress",
  "ec2.RevokeSecurityGroupEgress", { present = false }, { present = true })
builders["ec2.AuthorizeSecurityGroupIngress"] = rule_builder("ec2.AuthorizeSecurityGroupIngress", "ingress",
  "ec2.RevokeSecurityGroupIngress", { present = false }, { present = true })
builders["ec2.RevokeSecurityGroupEgress"] = rule_builder("ec2.RevokeSecurityGroupEgress", "egress",
  "ec2.AuthorizeSecurityGroupEgress", { present = true }, { present = false })

builders["autoscaling.DetachInstances"] = function(p)
  local out = {}
  for _, id in ipairs(p.InstanceIds or {}) do
    out[#out + 1] = record("asg:" .. p.AutoScalingGroupName .. ":" .. id, "autoscaling.DetachInstances",
      { member = true }, { member = false }, "request",
      { op = "autoscaling.AttachInstances", params = { InstanceIds = { id }, AutoScalingGroupName = p.AutoScalingGroupName } })
  end
  return out
end

builders["elb.DeregisterInstancesFromLoadBalancer"] = function(p)
  local out = {}
  for _, i in ipairs(p.Instances or {}) do
    out[#out + 1] = record("elb:" .. p.LoadBalancerName .. ":" .. i.InstanceId, "elb.DeregisterInstancesFromLoadBalancer",
      { member = true }, { member = false }, "request",
      { op = "elb.RegisterInstancesWithLoadBalancer", params = { LoadBalancerName = p.LoadBalancerName, Instances = { { InstanceId = i.InstanceId } } } })
  end
  return out
end

builders["elbv2.DeregisterTargets"] = function(p)
  local out = {}
  for _, t in ipairs(p.Targets or {}) do
    out[#out + 1] = record("tg:" .. p.TargetGroupArn .. ":" .. t.Id .. ":" .. tostring(t.Port), "elbv2.DeregisterTargets",
      { member = true }, { member = false }, "request",
      { op = "elbv2.RegisterTargets", params = { TargetGroupArn = p.TargetGroupArn, Targets = { { Id = t.Id, Port = t.Port } } } })
  end
  return out
end

-- A public access block, the bucket's (s3) or the account's (s3control):
-- undone by putting the one read before, or deleting when there was none.
-- who(p) gives the thing's key part and the parameters that name it.
local function block_builder(service, kind, what, who)
  local put, delete = service .. ".PutPublicAccessBlock", service .. ".DeletePublicAccessBlock"
  return function(p)
    local id, names = who(p)
    local key = kind .. ":" .. id
    local before = fact(key)
    local after = { config = p.PublicAccessBlockConfiguration }
    if not before then
      return { record(key, put, nil, after, "none", nil, "the " .. what .. "'s block was not read before") }
    end
    local undo
    if before.absent then
      undo = { op = delete, params = names }
    else
      local params = { PublicAccessBlockConfiguration = before.config }
      for k, v in pairs(names) do
        params[k] = v
      end
      undo = { op = put, params = params }
    end
    return { record(key, put, before, after, "read", undo) }
  end
end
builders["s3.PutPublicAccessBlock"] = block_builder("s3", "pab", "bucket", function(p)
  return p.Bucket, { Bucket = p.Bucket, ExpectedBucketOwner = p.ExpectedBucketOwner }
end)
builders["s3control.PutPublicAccessBlock"] = block_builder("s3control", "apab", "account", function(p)
  return p.AccountId, { AccountId = p.AccountId }
end)

local function policy_builder(kind, who, op, delete)
  return function(p)
    local key = kind .. ":" .. p[who] .. ":" .. p.PolicyName
    local before = fact(key)
    local after = { document = p.PolicyDocument }
    if not before then
      return { record(key, op, nil, after, "none", nil, "the inline policy was not read before it was put") }
    end
    local undo
    if before.absent then
      undo = { op = delete, params = { [who] = p[who], PolicyName = p.PolicyName } }
    else
      undo = { op = op, params = { [who] = p[who], PolicyName = p.PolicyName, PolicyDocument = before.document } }
    end
    return { record(key, op, before, after, "read", undo) }
  end
end
builders["iam.PutUserPolicy"] = policy_builder("user-policy", "UserName", "iam.PutUserPolicy", "iam.DeleteUserPolicy")
builders["iam.PutRolePolicy"] = policy_builder("role-policy", "RoleName", "iam.PutRolePolicy", "iam.DeleteRolePolicy")

builders["iam.UpdateAccessKey"] = function(p)
  local key = "key:" .. tostring(p.UserName) .. ":" .. p.AccessKeyId
  local before = fact(key)
  if not before then
    return { record(key, "iam.UpdateAccessKey", nil, p.Status, "none", nil, "the key's status was not read before") }
  end
  return { record(key, "iam.UpdateAccessKey", before, p.Status, "read",
    { op = "iam.UpdateAccessKey", params = { UserName = p.UserName, AccessKeyId = p.AccessKeyId, Status = before } }) }
end

-- The writes with an undo builder, for the unit test that compares them
-- with the allow-list.
function M.builder_ops()
  local ops = {}
  for op in pairs(builders) do ops[#ops + 1] = op end
  table.sort(ops)
  return ops
end

-- One call a live run sent. run_id: a new value starts a new run's facts.
-- Returns the records as JSON strings (none for a read).
function M.observe(run_id, op, access, params_json, result_json, err)
  if state.id ~= run_id then
    state = { id = run_id, facts = {} }
  end
  -- only the calls with a reader or a builder are decoded
  if access == "read" and not readers[op] then return {} end
  if access ~= "read" and (err or not (builders[op] or op == "ec2.CreateSecurityGroup")) then return {} end
  local params = json.decode(params_json or "{}")
  local result = result_json and json.decode(result_json) or {}
  if type(params) ~= "table" then params = {} end
  if type(result) ~= "table" then result = {} end
  if access == "read" then
    readers[op](params, result, err)
    return {}
  end
  if op == "ec2.CreateSecurityGroup" and result.GroupId then
    -- no undo (restore keeps it), but restore --remove-groups deletes it
    return { json.encode(record("created:" .. result.GroupId, op, { absent = true }, { present = true }, "response",
      nil, "deadbolt's own group: kept, unless restore --remove-groups and no ENI uses it")) }
  end
  local build = builders[op]
  if not build then return {} end
  local out = {}
  for _, rec in ipairs(build(params, result)) do
    out[#out + 1] = json.encode(rec)
  end
  return out
end

---------------------------------------------------------------- restore

-- Reads the records of a journal (its "undo" lines), optionally only those
-- of one finding. Returns them in the journal's order, and the steps that
-- declared an undo of their own and ran (their "step" lines: undo true),
-- each { run, step, saved, file, sha256 } (the playbook the run loaded),
-- and the roles those runs acted as (their "account" lines,
-- engine/run/account.c): { [role ARN or "" for the caller's own
-- credentials] = true }, and the regions they acted in (their "run_start"
-- lines' region, engine/run/report.c): { [region, or false when a line
-- names none] = true }.
function M.read_records(text, finding)
  local recs, run_finding, run_playbook, custom = {}, {}, {}, {}
  local run_role, run_region, used = {}, {}, {}
  for line in text:gmatch("[^\n]+") do
    local ok, l = pcall(json.decode, line)
    if ok and type(l) == "table" then
      if l.event == "account" and l.run ~= nil then
        run_role[l.run] = l.decision == "assumed role" and type(l.role) == "string" and l.role or ""
      end
      if l.event == "run_start" and type(l.finding) == "table" then
        run_finding[l.run] = l.finding.id
        run_playbook[l.run] = type(l.playbook) == "table" and l.playbook or nil
        -- anything but a missing region is passed on, for region() to judge
        if l.region ~= nil and l.region ~= json.null then run_region[l.run] = tostring(l.region) end
      end
      local pb = run_playbook[l.run]
      if l.event == "step" and l.undo == true and (l.status == "ok" or l.status == "failed") and pb
          and (not finding or finding == run_finding[l.run]) and type(l.step) == "string" then
        custom[#custom + 1] = { run = l.run, step = l.step, file = pb.file, sha256 = pb.sha256,
                                saved = type(l.saved) == "table" and l.saved or {} }
        used[l.run] = true
      end
      if l.event == "undo" and type(l.undo) == "table" then
        local f = run_finding[l.run]
        if not finding or finding == f then
          l.undo.step = l.step
          l.undo.run = l.run
          recs[#recs + 1] = l.undo
          used[l.run] = true
        end
      end
    end
  end
  local roles, regions = {}, {}
  for r in pairs(used) do
    roles[run_role[r] or ""] = true
    regions[run_region[r] or false] = true
  end
  return recs, custom, roles, regions
end

-- The region the restore acts in: the one the journal's runs acted in (a
-- finding's own region, or the run's --region), whatever the caller's
-- region is; o.region refuses a name that is not a region's. A journal
-- that names none is restored in the caller's region. Runs in different
-- regions are not restored together.
local function act_in(o, regions)
  local list = {}
  for r in pairs(regions) do list[#list + 1] = r or "the caller's region" end
  table.sort(list)
  if #list > 1 then
    error("the journal's runs acted in " .. table.concat(list, " and ") ..
      ": restore them one finding at a time (--finding ID)", 0)
  end
  local region = next(regions)
  if region then
    if not o.region then error("cannot act in " .. region .. " here", 0) end
    local ok, why = o.region(region)
    if not ok then error(tostring(why), 0) end
    o.say(string.format("acting in %s, as the containment did", region))
    return region
  end
end

-- The role the restore acts as: the one the journal's runs assumed in
-- their finding's account (assume(role) switches every call after it to
-- that role), or none for runs in the caller's own account. Runs that
-- acted as different roles are not restored together.
local function act_as(o, roles)
  local list = {}
  for r in pairs(roles) do list[#list + 1] = r == "" and "the caller's own credentials" or r end
  table.sort(list)
  if #list > 1 then
    error("the journal's runs acted as " .. table.concat(list, " and ") ..
      ": restore them one finding at a time (--finding ID)", 0)
  end
  local role = next(roles)
  if role and role ~= "" then
    if not o.assume then error("cannot act as " .. role .. " here", 0) end
    local ok, why = o.assume(role)
    if not ok then error(tostring(why), 0) end
    o.say(string.format("acting as %s, as the containment did", role))
    return role
  end
end

-- Collapses the records by key: the earliest before-state and undo, the
-- latest after-state; ordered by the latest change, newest first.
function M.plan(recs)
  local by_key, order = {}, {}
  for i, r in ipairs(recs) do
    if r.key:match("^created:") then goto next end
    local k = r.run .. "|" .. r.key
    local e = by_key[k]
    if not e then
      e = copy(r)
      by_key[k] = e
      order[#order + 1] = e
    else
      e.after = r.after
      e.ops = (e.ops or 1) + 1
    end
    e.last = i
    ::next::
  end
  table.sort(order, function(a, b) return a.last > b.last end)
  -- The primary ENI's groups go back after the other ENIs': the instance's
  -- groups follow the primary ENI, and moto (not AWS) shows them on every
  -- ENI of the instance, so a secondary ENI checked after the primary's
  -- restore would look changed. The places of the ENI records are kept;
  -- only their order among themselves changes.
  local places, enis = {}, {}
  for i, e in ipairs(order) do
    if e.key:match("^eni:") then
      places[#places + 1] = i
      enis[#enis + 1] = e
    end
  end
  local n = 0
  for pass = 1, 2 do
    for _, e in ipairs(enis) do
      if (pass == 1) == not e.primary then
        n = n + 1
        order[places[n]] = e
      end
    end
  end
  return order
end

-- The checks: the thing's state now, as the before/after of its record
-- describe it. Each returns the state, or nil and an error.
local checks = {}

local function current_groups(call, id)
  local r, err = call("ec2.DescribeNetworkInterfaces", { NetworkInterfaceIds = { id } })
  if not r then return nil, err end
  local eni = (r.NetworkInterfaces or {})[1]
  if not eni then return nil, "ENI " .. id .. " is gone" end
  return sorted_ids(eni.Groups)
end

checks["eni"] = function(call, e)
  return current_groups(call, e.undo.params.NetworkInterfaceId)
end

checks["attr"] = function(call, e)
  local id = e.undo.params.InstanceId
  local member = e.key:match("^attr:[^:]+:(.+)$")
  local r, err = call("ec2.DescribeInstanceAttribute", { InstanceId = id, Attribute = lower_first(member) })
  if not r then return nil, err end
  return r[member] and r[member].Value
end

checks["dot"] = function(call, e)
  local id, device = e.key:match("^dot:([^:]+):(.+)$")
  local r, err = call("ec2.DescribeInstances", { InstanceIds = { id } })
  if not r then return nil, err end
  for _, res in ipairs(r.Reservations or {}) do
    for _, i in ipairs(res.Instances or {}) do
      for _, m in ipairs(i.BlockDeviceMappings or {}) do
        if m.DeviceName == device and m.Ebs then return m.Ebs.DeleteOnTermination end
      end
    end
  end
  return nil, "no volume at " .. device .. " of " .. id
end

checks["tag"] = function(call, e)
  local id, key = e.key:match("^tag:([^:]+):(.+)$")
  local r, err = call("ec2.DescribeInstances", { InstanceIds = { id } })
  if not r then return nil, err end
  for _, res in ipairs(r.Reservations or {}) do
    for _, i in ipairs(res.Instances or {}) do
      for _, t in ipairs(i.Tags or {}) do
        if t.Key == key then return { value = t.Value } end
      end
      return { absent = true }
    end
  end
  return nil, "instance " .. id .. " is gone"
end

local function profile_now(call, id)
  local r, err = call("ec2.DescribeIamInstanceProfileAssociations", { Filters = { { Name = "instance-id", Values = { id } } } })
  if not r then return nil, nil, err end
  for _, a in ipairs(r.IamInstanceProfileAssociations or {}) do
    if a.State == "associated" or a.State == "associating" then
      return { arn = a.IamInstanceProfile and a.IamInstanceProfile.Arn or false }, a.AssociationId
    end
  end
  return { arn = false }
end

checks["profile"] = function(call, e)
  local now, _, err = profile_now(call, e.undo.params.InstanceId)
  return now, err
end

checks["asg"] = function(call, e)
  local name, id = e.key:match("^asg:(.+):([^:]+)$")
  local r, err = call("autoscaling.DescribeAutoScalingInstances", { InstanceIds = { id } })
  if not r then return nil, err end
  for _, a in ipairs(r.AutoScalingInstances or {}) do
    if a.AutoScalingGroupName == name then return { member = true } end
    return nil, id .. " is now in Auto Scaling group " .. a.AutoScalingGroupName
  end
  return { member = false }
end

checks["elb"] = function(call, e)
  local p = e.undo.params
  local r, err = call("elb.DescribeLoadBalancers", { LoadBalancerNames = { p.LoadBalancerName } })
  if not r then return nil, err end
  for _, lb in ipairs(r.LoadBalancerDescriptions or {}) do
    for _, i in ipairs(lb.Instances or {}) do
      if i.InstanceId == p.Instances[1].InstanceId then return { member = true } end
    end
  end
  return { member = false }
end

checks["tg"] = function(call, e)
  local p = e.undo.params
  local t = p.Targets[1]
  local r, err = call("elbv2.DescribeTargetHealth", { TargetGroupArn = p.TargetGroupArn })
  if not r then return nil, err end
  for _, d in ipairs(r.TargetHealthDescriptions or {}) do
    local state = d.TargetHealth and d.TargetHealth.State
    if d.Target.Id == t.Id and d.Target.Port == t.Port and state ~= "draining" and state ~= "unused" then
      return { member = true }
    end
  end
  return { member = false }
end

checks["sg"] = function(call, e)
  local gid, direction, id = e.key:match("^sg:([^:]+):(%a+):(.+)$")
  local r, err = call("ec2.DescribeSecurityGroups", { GroupIds = { gid } })
  if not r then return nil, err end
  local g = (r.SecurityGroups or {})[1]
  if not g then return nil, "security group " .. gid .. " is gone" end
  for _, a in ipairs(rule_atoms(direction == "egress" and g.IpPermissionsEgress or g.IpPermissions)) do
    if a.id == id then return { present = true } end
  end
  return { present = false }
end

local function block_check(op, names)
  return function(call, e)
    local r, err, code = call(op, names(e.undo.params))
    local state = block_state(r, not r and (code or "error") or nil)
    if state then return state end
    return nil, err
  end
end
checks["pab"] = block_check("s3.GetPublicAccessBlock", function(p)
  return { Bucket = p.Bucket, ExpectedBucketOwner = p.ExpectedBucketOwner }
end)
checks["apab"] = block_check("s3control.GetPublicAccessBlock", function(p)
  return { AccountId = p.AccountId }
end)

local function policy_check(op, who)
  return function(call, e)
    local p = e.undo.params
    local r, err, code = call(op, { [who] = p[who], PolicyName = p.PolicyName })
    if not r then
      if code == "NoSuchEntity" then return { absent = true } end
      return nil, err
    end
    return { document = url_decoded(r.PolicyDocument) }
  end
end
checks["user-policy"] = policy_check("iam.GetUserPolicy", "UserName")
checks["role-policy"] = policy_check("iam.GetRolePolicy", "RoleName")

checks["key"] = function(call, e)
  local p = e.undo.params
  local r, err = call("iam.ListAccessKeys", { UserName = p.UserName })
  if not r then return nil, err end
  for _, k in ipairs(r.AccessKeyMetadata or {}) do
    if k.AccessKeyId == p.AccessKeyId then return k.Status end
  end
  return nil, "key " .. p.AccessKeyId .. " is gone"
end

-- States compared by meaning: policy documents as JSON.
local function same(a, b)
  if type(a) == "table" and type(b) == "table" and (a.document or b.document) then
    return equal(policy_value(a.document), policy_value(b.document)) and a.absent == b.absent
  end
  return equal(a, b)
end

local function describe(v)
  if type(v) == "table" then return json.encode(v) end
  return tostring(v)
end

-- What the sandbox judges an undo call by: the journal's record of the
-- thing it puts back.
local function facts_of(e)
  return { [e.key] = { before = e.before, after = e.after } }
end

-- The undo's calls. SetInstanceProfile is the instance's profile put back:
-- the one there now off, the earlier one (if any) on.
local function undo_calls(call, e)
  if e.undo.op ~= "ec2.SetInstanceProfile" then
    return { { op = e.undo.op, params = e.undo.params } }
  end
  local p, calls = e.undo.params, {}
  local _, assoc = profile_now(call, p.InstanceId)
  if assoc then
    calls[#calls + 1] = { op = "ec2.DisassociateIamInstanceProfile", params = { AssociationId = assoc } }
  end
  if p.Arn then
    calls[#calls + 1] = { op = "ec2.AssociateIamInstanceProfile", params = { InstanceId = p.InstanceId, IamInstanceProfile = { Arn = p.Arn } } }
  end
  return calls
end

-- Errors that say the undo is already done.
local already = {
  ["InvalidPermission.NotFound"] = true,
  ["InvalidPermission.Duplicate"] = true,
}

-- What to do with one collapsed record: "undo", "done", "changed" (with
-- why), "refused" (no undo recorded), "failed" (the check's read failed).
local function judge(call, e, force, allowed)
  if not e.undo then return "refused", e.why or "no undo recorded" end
  -- a journal is data: only the undo operations the allow-list names
  if type(e.undo.op) ~= "string" or not (allowed[e.undo.op] or e.undo.op == "ec2.SetInstanceProfile") then
    return "refused", tostring(e.undo.op) .. " is not an undo the allow-list names"
  end
  local kind = e.key:match("^([^:]+):")
  local check = checks[kind]
  if not check then return "undo", "no check for " .. kind .. ": the undo tolerates it done" end
  local now, err = check(call, e)
  if now == nil and err then
    return force and "undo" or "failed", err
  end
  if same(now, e.before) then return "done", "already " .. describe(now) end
  if same(now, e.after) then return "undo", describe(now) .. " -> " .. describe(e.before) end
  local why = e.key .. " changed since the containment: " .. describe(now) .. ", contained as " .. describe(e.after)
  return force and "undo" or "changed", why
end

-- opts: { call = fn(op, params[, facts]) -> result | nil, message, code
--           (through the sandbox in restore mode; facts: the record an undo
--           call puts back; code "Deadbolt.Refused" when the sandbox refused);
--         allowed = { ["svc.Op"] = true } (the allow-list's undo operations);
--         emit = fn(string) (a journal line, JSON); say = fn(string);
--         dry_run, force, topic (NOTIFICATION_TOPIC_ARN or nil) }.
-- Returns counts and the summary line.
-- A step's own undo (steps[i].undo = function(ctx, saved)), for a change
-- one recorded call cannot put back: run by the sandbox in restore mode
-- with the step's saved data, its calls allowed to loosen only back to the
-- records the step's writes left (their before-states). The step's records
-- are then not replayed one by one. Newest step first, before the replay.
local function custom_undos(recs, custom, opts, n)
  local mine = {}
  for i = #custom, 1, -1 do
    local c = custom[i]
    local facts, count = {}, 0
    for _, r in ipairs(recs) do
      if r.run == c.run and r.step == c.step and not r.key:match("^created:") then
        local f = facts[r.key]
        if f then f.after = r.after else facts[r.key] = { before = r.before, after = r.after } count = count + 1 end
        mine[r] = true
      end
    end
    local line = { event = "restore_step", step = c.step, key = "step:" .. c.step, op = "undo", source = "step",
                   saved = c.saved, records = count }
    if opts.dry_run then
      line.verdict = "planned"
      n.planned = n.planned + 1
      opts.say(string.format("  step %s: its own undo (%s), with its saved data %s", c.step, c.file, json.encode(c.saved)))
    else
      local ok, why = opts.custom(c.file, c.sha256, c.step, c.saved, facts)
      if ok then
        line.verdict = "restored"
        n.restored = n.restored + 1
        opts.say(string.format("  restored step %s: its own undo", c.step))
      else
        line.verdict, line.why = "failed", tostring(why)
        n.failed = n.failed + 1
        opts.say(string.format("  FAILED   step %s: its own undo: %s", c.step, tostring(why)))
      end
    end
    opts.emit(line)
  end
  n.custom = #custom
  local rest = {}
  for _, r in ipairs(recs) do
    if not mine[r] then rest[#rest + 1] = r end
  end
  return rest
end

function M.restore(recs, opts, custom)
  local emit = opts.emit
  local run = string.format("restore-%d-%06d", os.time(), math.random(0, 999999))
  opts = setmetatable({ emit = function(t)
    t.ts = os.date("!%Y-%m-%dT%H:%M:%SZ")
    t.run = run
    emit(json.encode(t))
  end }, { __index = opts })
  local n = { restored = 0, done = 0, changed = 0, refused = 0, failed = 0, planned = 0 }
  opts.emit({ event = "restore_start", records = #recs, dry_run = opts.dry_run or false, force = opts.force or false,
              role = opts.role, region = opts.acting_in })
  recs = custom_undos(recs, custom or {}, opts, n)
  local plan = M.plan(recs)
  for i, e in ipairs(plan) do
    local verdict, why = judge(opts.call, e, opts.force, opts.allowed or {})
    local line = { event = "restore_step", key = e.key, step = e.step, op = e.op, source = e.source,
                   before = e.before, after = e.after, verdict = verdict, why = why }
    if verdict == "undo" then
      local calls = undo_calls(opts.call, e)
      line.calls = {}
      local refused
      for _, c in ipairs(opts.dry_run and calls or {}) do
        local ok, msg, code = opts.judge(c.op, c.params, facts_of(e))
        if not ok and not refused then refused = code == "Deadbolt.Refused" and tostring(msg) or nil end
      end
      if refused then -- the plan says what the sandbox would refuse
        line.verdict, line.why = "refused", refused
        n.refused = n.refused + 1
        opts.say(string.format("  refused  %s: %s", e.key, refused))
      elseif opts.dry_run then
        opts.say(string.format("  %d. %s (%s): %s", i, e.key, e.step or "?", why))
        for _, c in ipairs(calls) do
          opts.say(string.format("       %s %s", c.op, json.encode(c.params)))
          line.calls[#line.calls + 1] = { op = c.op, params = c.params, dry_run = true }
        end
        n.planned = n.planned + 1
        line.verdict = "planned"
      else
        local failed, refused
        for _, c in ipairs(calls) do
          local r, msg, code = opts.call(c.op, c.params, facts_of(e))
          line.calls[#line.calls + 1] = { op = c.op, params = c.params, error = code }
          if code == "Deadbolt.Refused" then
            refused = tostring(msg)
            break
          elseif not r and not already[code] then
            failed = c.op .. ": " .. tostring(code) .. ": " .. tostring(msg)
            break
          end
        end
        if refused then
          line.verdict, line.why = "refused", refused
          n.refused = n.refused + 1
          opts.say(string.format("  refused  %s: %s", e.key, refused))
        elseif failed then
          line.verdict, line.why = "failed", failed
          n.failed = n.failed + 1
          opts.say(string.format("  FAILED   %s: %s", e.key, failed))
        else
          line.verdict = "restored"
          n.restored = n.restored + 1
          opts.say(string.format("  restored %s: %s", e.key, why))
        end
      end
    else
      n[verdict] = n[verdict] + 1
      opts.say(string.format("  %-8s %s: %s", verdict == "done" and "already" or verdict, e.key, why))
    end
    opts.emit(line)
  end
  if opts.remove_groups then
    n.groups_removed = 0
    for _, r in ipairs(recs) do
      local gid = r.key:match("^created:(.+)$")
      if gid then
        local enis, msg, code = opts.call("ec2.DescribeNetworkInterfaces", { Filters = { { Name = "group-id", Values = { gid } } } })
        local line = { event = "restore_group", group = gid }
        if not enis then
          line.verdict, line.why = "failed", tostring(code) .. ": " .. tostring(msg)
        elseif #(enis.NetworkInterfaces or {}) > 0 then
          line.verdict, line.why = "kept", string.format("%d ENI(s) still use it", #enis.NetworkInterfaces)
        elseif opts.dry_run then
          line.verdict = "planned"
          opts.say(string.format("  remove group %s: ec2.DeleteSecurityGroup {\"GroupId\":\"%s\"}", gid, gid))
        else
          local ok, dmsg, dcode = opts.call("ec2.DeleteSecurityGroup", { GroupId = gid },
            { [r.key] = { before = r.before, after = r.after } })
          if ok or dcode == "InvalidGroup.NotFound" then
            line.verdict = ok and "removed" or "already"
            if ok then n.groups_removed = n.groups_removed + 1 end
          else
            line.verdict, line.why = "failed", tostring(dcode) .. ": " .. tostring(dmsg)
            n.failed = n.failed + 1
          end
        end
        if line.verdict ~= "planned" then
          opts.say(string.format("  group %s %s%s", gid, line.verdict, line.why and (": " .. line.why) or ""))
        end
        opts.emit(line)
      end
    end
  end
  local summary = string.format("restore: %d change(s): %d restored, %d already restored, %d changed since (refused), %d without undo or refused, %d failed%s",
    #plan + (n.custom or 0), n.restored, n.done, n.changed, n.refused, n.failed, opts.dry_run and string.format(", %d planned (dry run)", n.planned) or "")
  opts.say(summary)
  n.summary = summary
  if opts.topic and opts.topic ~= "" and not opts.dry_run then
    local _, msg, code = opts.call("sns.Publish", { TopicArn = opts.topic, Subject = "deadbolt restore",
      Message = summary .. (opts.source and ("\nfrom " .. opts.source) or "") })
    opts.emit({ event = "notification", topic = opts.topic, error = code, message = code and msg or nil })
  end
  opts.emit({ event = "restore_end", restored = n.restored, already = n.done, changed = n.changed,
              refused = n.refused, failed = n.failed, planned = n.planned })
  return n
end

-- The journals of a finding in the artifact bucket. The Lambda stores each
-- invocation's journal once more under journal/by-finding/<finding-id>/
-- <UTC time>-<request id>.jsonl for every finding it changed something for:
-- one listing of that prefix finds them all, oldest first (the keys sort by
-- time), whichever day they ran; S3 has no append, so a finding contained
-- twice (a retry after a partial run) has two objects.
M.BY_FINDING = "journal/by-finding/"

-- The listing is paged (S3 answers at most 1,000 keys a page), up to
-- M.MAX_PAGES pages: past that the restore stops and says so rather than
-- restore from a part of the finding's journals.
M.MAX_PAGES = 20

local function journal_keys(o, prefix)
  local keys, token = {}, nil
  for _ = 1, M.MAX_PAGES do
    local r, msg, code = o.store("s3.ListObjectsV2", { Bucket = o.bucket, Prefix = prefix, ContinuationToken = token })
    if not r then
      error(string.format("listing s3://%s/%s: %s: %s", o.bucket, prefix, tostring(code), tostring(msg)), 0)
    end
    for _, obj in ipairs(r.Contents or {}) do keys[#keys + 1] = obj.Key end
    token = r.IsTruncated and r.NextContinuationToken or nil
    if not token then
      table.sort(keys)
      return keys
    end
  end
  error(string.format("s3://%s/%s holds more than %d pages of objects: not restored from a part of them",
    o.bucket, prefix, M.MAX_PAGES), 0)
end

local function finding_journals(o)
  local prefix = M.BY_FINDING .. o.finding .. "/"
  local parts = {}
  for _, key in ipairs(journal_keys(o, prefix)) do
    if not key:find("restore", #prefix + 1, true) then
      local got, gmsg, gcode = o.store("s3.GetObject", { Bucket = o.bucket, Key = key })
      if not got then
        error(string.format("reading s3://%s/%s: %s: %s", o.bucket, key, tostring(gcode), tostring(gmsg)), 0)
      end
      parts[#parts + 1] = got.Body
    end
  end
  if #parts == 0 then
    error(string.format("no journal of finding %s in s3://%s/%s", o.finding, o.bucket, prefix), 0)
  end
  return table.concat(parts, "\n")
end

-- The findings of a journal that have undo records (the Lambda's index).
function M.findings_changed(text)
  local run_finding, out, seen = {}, {}, {}
  for line in text:gmatch("[^\n]+") do
    local ok, l = pcall(json.decode, line)
    if ok and type(l) == "table" then
      if l.event == "run_start" and type(l.finding) == "table" then
        run_finding[l.run] = l.finding.id
      elseif l.event == "undo" then
        local f = run_finding[l.run]
        if type(f) == "string" and f:match("^[%w._-]+$") and #f < 200 and not seen[f] then
          seen[f] = true
          out[#out + 1] = f
        end
      end
    end
  end
  return out
end

-- A whole restore. o: as M.restore's opts, and text (a journal) or bucket
-- and finding (its journals in the artifact bucket). With a bucket and a
-- finding, the restore's own journal is stored beside them.
function M.main(o)
  local text = o.text or finding_journals(o)
  local lines, emit = {}, o.emit
  local opts = setmetatable({ emit = function(s)
    lines[#lines + 1] = s
    emit(s)
  end }, { __index = o })
  local recs, custom, roles, regions = M.read_records(text, o.finding)
  opts.acting_in = act_in(o, regions)
  opts.role = act_as(o, roles)
  local n = M.restore(recs, opts, custom)
  if o.bucket and o.finding and not o.dry_run and not o.text then
    local key = string.format("%s%s/%s-restore.jsonl", M.BY_FINDING, o.finding, os.date("!%Y%m%dT%H%M%SZ"))
    local _, msg, code = o.store("s3.PutObject", { Bucket = o.bucket, Key = key,
      Body = table.concat(lines, "\n") .. "\n", ContentType = "application/x-ndjson" })
    if code then
      o.say(string.format("restore journal not stored in s3://%s/%s: %s: %s", o.bucket, key, code, tostring(msg)))
    end
  end
  return n
end

return M
