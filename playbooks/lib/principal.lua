-- lib/principal — cut off the IAM principal whose credentials a finding
-- names (resource.accessKeyDetails). iam.lua is this runbook; s3.lua runs
-- it as well for the principal that touched a bucket (config.s3 decides).
--
--   IAMUser      deactivate the exact long-term access key of the finding
--                (AKIA..., and only when ListAccessKeys shows it is that
--                user's), then every other key of the user created on or
--                after the finding's service.eventFirstSeen (a key the
--                attacker could have made for themselves), then the inline
--                deny policy AWSRevokeOlderSessions on the user. Keys are
--                deactivated, never deleted.
--   AssumedRole  the same policy on the role (accessKeyDetails.userName is
--                the role's name; principalId is "AROA...:session").
--   Root, FederatedUser, anything else
--                no change is possible or safe from here: journaled and
--                notified for a person to act.
--
-- Why both for a user: the policy denies every request whose
-- aws:TokenIssueTime is before now, which revokes temporary credentials
-- (sessions, ASIA... keys); requests signed with a long-term key carry no
-- aws:TokenIssueTime, so only deactivating the key stops it. The key goes
-- first: it is the credential the finding saw in use.
--
-- "Now", not the finding's eventLastSeen: sessions issued between the
-- activity and the response are revoked too. Whatever existed before (a
-- policy of that name, each key's status) is saved for restore.
--
-- Whether the principal still exists is read first (GetUser / GetRole), so
-- a dry run, whose writes are not sent, decides as the live run does: a
-- principal that is gone skips every write with the same reason in both.

local config = require "config"
local aws = require "lib.aws"
local validate = require "lib.validate"
local policy = require "lib.policy"
local notify = require "lib.notify"

local cfg = config.iam
local note = notify.note

local M = {}

-- IAM returns policy documents URL-encoded (RFC 3986).
local function url_decoded(text)
  if not text or text:sub(1, 1) == "{" then
    return text
  end
  return (text:gsub("%%(%x%x)", function(hex) return string.char(tonumber(hex, 16)) end))
end

local function revoke_document(at)
  return json.encode({
    Version = "2012-10-17",
    Statement = { {
      Sid = "DeadboltRevokeOlderSessions",
      Effect = "Deny",
      Action = { "*" },
      Resource = { "*" },
      Condition = { DateLessThan = { ["aws:TokenIssueTime"] = at } },
    } },
  })
end

local function protected_role(name)
  for _, pattern in ipairs(cfg.protected_roles or {}) do
    if name:find(pattern) then
      return pattern
    end
  end
  return nil
end

-- The existing inline policy of that name (decoded), or false.
local function existing_policy(get, params)
  local r, err = aws.try(get, params)
  if r then
    return url_decoded(r.PolicyDocument)
  end
  if aws.is(err, "NoSuchEntity") then
    return false
  end
  error(err)
end

-- "2024-03-11T08:12:40Z", "2024-03-11T08:12:40.123Z", "2024-03-11 08:12:40+00:00":
-- the UTC second as "YYYY-MM-DDTHH:MM:SS", comparable as text; nil when not
-- a UTC time of that form.
local function utc_second(text)
  if type(text) ~= "string" then
    return nil
  end
  local day, time, rest = text:match("^(%d%d%d%d%-%d%d%-%d%d)[T ](%d%d:%d%d:%d%d)(.*)$")
  if not day then
    return nil
  end
  rest = rest:gsub("^%.%d+", "")
  if rest ~= "Z" and rest ~= "+00:00" and rest ~= "" then
    return nil
  end
  return day .. "T" .. time
end
M.utc_second = utc_second

local function what(p)
  return (p.type == "IAMUser" and "IAM user " or "role ") .. p.name
end

-- Reads and checks resource.accessKeyDetails into ctx.state.principal:
-- { type, name (IAMUser, AssumedRole), access_key (IAMUser), first_seen,
-- headline }. Raises "malformed finding" on a bad name; returns nil when the
-- finding names no credentials.
function M.read(ctx)
  local key = ctx.finding.resource.accessKeyDetails
  if not key then
    return nil
  end
  local p = { type = key.userType or "unknown" }
  if p.type == "IAMUser" or p.type == "AssumedRole" then
    p.name = validate.iam_name(key.userName, "resource.accessKeyDetails.userName")
  end
  if p.type == "IAMUser" and key.accessKeyId ~= nil then -- the only key ever used in a call
    p.access_key = validate.access_key_id(key.accessKeyId, "resource.accessKeyDetails.accessKeyId")
  end
  local service = ctx.finding.service
  p.first_seen = utc_second(service and service.eventFirstSeen)
  p.headline = p.name and what(p)
    or string.format("%s credentials %s", p.type, tostring(key.userName or key.principalId or ""))
  ctx.state.principal = p
  return p
end

-- Whether anything can be done about the principal from here: nil, or why
-- not (Root and other credentials, a role AWS manages).
function M.unchangeable(ctx)
  local p = ctx.state.principal
  if not p then
    return "the finding names no credentials"
  end
  if p.type ~= "IAMUser" and p.type ~= "AssumedRole" then
    return p.type .. " credentials: no change is possible or safe from here; a person must act"
  end
  local pattern = p.type == "AssumedRole" and protected_role(p.name)
  if pattern then
    return string.format("role %s is managed by AWS (%s): not changed; "
      .. "revoke its sessions where it is managed", p.name, pattern)
  end
  return nil
end

-- Guards for `when`.
function M.present(ctx)
  local p = ctx.state.principal
  return p ~= nil and p.gone == nil, p and p.gone or "the principal was not looked up"
end

local function is_user(ctx)
  return ctx.state.principal.type == "IAMUser", "the credential is not an IAM user's"
end

-- The steps of the runbook, as values, followed by the steps given after
-- on_gone, so that a playbook ends its literal steps table with them:
--   steps = { ..., principal.steps(policy.containing, gone, notify.step()) }
-- applies: the guard saying whether this run contains the principal at all
-- (iam.lua: policy.containing). on_gone(ctx, why): what a principal that no
-- longer exists means for the run (iam.lua: nothing to do; s3.lua: a note).
function M.steps(applies, on_gone, ...)
  local steps = {
    {
      name = "look_up_principal",
      why = "a principal that is gone is skipped alike in a dry run and a live run (the same read decides)",
      when = applies,
      run = function(ctx)
        local p = ctx.state.principal
        local get, params = iam.get_user, { UserName = p.name }
        if p.type == "AssumedRole" then
          get, params = iam.get_role, { RoleName = p.name }
        end
        local found, err = aws.try(get, params)
        if found then
          return
        end
        if not aws.is(err, "NoSuchEntity") then
          error(err)
        end
        p.gone = what(p) .. " no longer exists"
        note(ctx, p.gone)
        on_gone(ctx, p.gone)
      end,
    },
    {
      name = "deactivate_access_key",
      why = "the long-term key the finding saw in use stops working (the session policy cannot stop it)",
      when = policy.all(applies, M.present, is_user, policy.setting("iam", "deactivate_access_key")),
      run = function(ctx)
        local user, key = ctx.state.principal.name, ctx.state.principal.access_key
        if not key or key:sub(1, 4) ~= "AKIA" then
          note(ctx, "key %s is not a long-term key: the session policy revokes it", tostring(key))
          return
        end
        local listed = iam.list_access_keys { UserName = user }
        local mine
        for _, k in ipairs(listed.AccessKeyMetadata or {}) do
          if k.AccessKeyId == key then
            mine = k
          end
        end
        if not mine then
          note(ctx, "key %s is not one of %s's keys: no key deactivated", key, user)
          return
        end
        if mine.Status == "Inactive" then
          note(ctx, "key %s of %s is already inactive", key, user)
          return
        end
        ctx.save("access_key", { UserName = user, AccessKeyId = key, Status = mine.Status })
        iam.update_access_key { UserName = user, AccessKeyId = key, Status = "Inactive" }
        note(ctx, "key %s of %s deactivated (not deleted)", key, user)
      end,
    },
    {
      name = "deactivate_new_access_keys",
      why = "a key made since the activity began may be the attacker's own way back in",
      when = policy.all(applies, M.present, is_user, policy.setting("iam", "deactivate_new_access_keys")),
      run = function(ctx)
        local p = ctx.state.principal
        if not p.first_seen then
          note(ctx, "the finding gives no eventFirstSeen: no other key of %s deactivated", p.name)
          return
        end
        local listed = iam.list_access_keys { UserName = p.name }
        local saved = {}
        for _, k in ipairs(listed.AccessKeyMetadata or {}) do
          local created = utc_second(k.CreateDate)
          if k.AccessKeyId ~= p.access_key and k.Status == "Active" and created and created >= p.first_seen then
            saved[#saved + 1] = { UserName = p.name, AccessKeyId = k.AccessKeyId, Status = k.Status,
                                  CreateDate = k.CreateDate }
          end
        end
        if #saved == 0 then
          note(ctx, "no active key of %s was created since %s", p.name, p.first_seen)
          return
        end
        ctx.save("new_access_keys", saved)
        aws.each(saved, function(k)
          iam.update_access_key { UserName = p.name, AccessKeyId = k.AccessKeyId, Status = "Inactive" }
          note(ctx, "key %s of %s, created %s after the activity began (%s), deactivated (not deleted)",
            k.AccessKeyId, p.name, tostring(k.CreateDate), p.first_seen)
        end)
      end,
    },
    {
      name = "revoke_older_sessions",
      why = "every session issued before now is denied everything; new sign-ins still work",
      when = policy.all(applies, M.present, policy.setting("iam", "revoke_sessions")),
      run = function(ctx)
        local p, at = ctx.state.principal, now()
        local name, doc, ok, err = p.name, revoke_document(at), nil, nil
        if p.type == "IAMUser" then
          local previous = existing_policy(iam.get_user_policy, { UserName = name, PolicyName = cfg.revoke_policy_name })
          ctx.save("user_policy", { UserName = name, PolicyName = cfg.revoke_policy_name, PolicyDocument = previous })
          ok, err = aws.try(iam.put_user_policy, { UserName = name, PolicyName = cfg.revoke_policy_name, PolicyDocument = doc })
        else
          local previous = existing_policy(iam.get_role_policy, { RoleName = name, PolicyName = cfg.revoke_policy_name })
          ctx.save("role_policy", { RoleName = name, PolicyName = cfg.revoke_policy_name, PolicyDocument = previous })
          ok, err = aws.try(iam.put_role_policy, { RoleName = name, PolicyName = cfg.revoke_policy_name, PolicyDocument = doc })
        end
        if not ok then
          if aws.is(err, "NoSuchEntity") then -- deleted since look_up_principal
            note(ctx, "%s no longer exists", what(p))
            return
          end
          error(err)
        end
        if p.type == "IAMUser" then
          note(ctx, "policy %s on user %s denies sessions issued before %s", cfg.revoke_policy_name, name, at)
        else
          note(ctx, "policy %s on role %s denies every session issued before %s, legitimate ones too, "
            .. "until they get new credentials", cfg.revoke_policy_name, name, at)
        end
      end,
    },
  }
  for _, step in ipairs({ ... }) do
    steps[#steps + 1] = step
  end
  return table.unpack(steps)
end

return M
