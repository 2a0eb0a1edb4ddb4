-- iam — cut off the credentials a finding names.
--
-- From resource.accessKeyDetails:
--   IAMUser      deactivate the exact long-term access key of the finding
--                (AKIA..., and only when ListAccessKeys shows it is that
--                user's; never another key, never deleted), then the inline
--                deny policy AWSRevokeOlderSessions on the user.
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
-- policy of that name, the key's status) is saved for restore.

local config = require "config"
local aws = require "lib.aws"
local validate = require "lib.validate"
local policy = require "lib.policy"
local notify = require "lib.notify"

local cfg = config.iam
local note = notify.note

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

local function is_protected_role(name)
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

local function is_user(ctx)
  return ctx.state.user_type == "IAMUser", "the credential is not an IAM user's"
end

return {
  name = "iam",
  handles = {
    { resource_type = "AccessKey", finding_type = "^AttackSequence:",
      skip = "an attack sequence: respond to the findings it is made of" },
    { resource_type = "AccessKey" },
  },
  steps = {
    {
      name = "check_finding",
      why = "the user, role and key names are checked before any call uses them",
      critical = true,
      run = function(ctx)
        local key = ctx.finding.resource.accessKeyDetails
        if not key then
          error("malformed finding: resource.accessKeyDetails is missing", 0)
        end
        local user_type = key.userType or "unknown"
        ctx.state.user_type = user_type
        if user_type == "IAMUser" or user_type == "AssumedRole" then
          ctx.state.name = validate.iam_name(key.userName, "resource.accessKeyDetails.userName")
        end
        if user_type == "IAMUser" and key.accessKeyId ~= nil then -- the only key ever used in a call
          ctx.state.access_key = validate.access_key_id(key.accessKeyId, "resource.accessKeyDetails.accessKeyId")
        end
        local what = ({ IAMUser = "IAM user ", AssumedRole = "role " })[user_type]
        ctx.state.headline = what and (what .. ctx.state.name)
          or string.format("%s credentials %s", user_type, tostring(key.userName or key.principalId or ""))
      end,
    },
    {
      name = "choose_response",
      why = "the team decides, by finding type, severity and resource role, what is contained",
      run = function(ctx)
        policy.respond(ctx, cfg, "notify") -- nothing to collect for a credential
        note(ctx, "response: %s (%s)", ctx.state.response, ctx.state.response_why)
        local t = ctx.state.user_type
        if t ~= "IAMUser" and t ~= "AssumedRole" then
          policy.nothing_to_do(ctx, t .. " credentials: no change is possible or safe from here; a person must act")
          note(ctx, ctx.state.nothing_to_do)
        elseif t == "AssumedRole" and is_protected_role(ctx.state.name) then
          policy.nothing_to_do(ctx, string.format("role %s is managed by AWS (%s): not changed; "
            .. "revoke its sessions where it is managed", ctx.state.name, is_protected_role(ctx.state.name)))
          note(ctx, ctx.state.nothing_to_do)
        end
      end,
    },
    {
      name = "deactivate_access_key",
      why = "the long-term key the finding saw in use stops working (the session policy cannot stop it)",
      when = policy.all(policy.containing, is_user, policy.setting("iam", "deactivate_access_key")),
      run = function(ctx)
        local user, key = ctx.state.name, ctx.state.access_key
        local listed, err = aws.try(iam.list_access_keys, { UserName = user })
        if not listed then
          if aws.is(err, "NoSuchEntity") then
            ctx.skip("IAM user " .. user .. " no longer exists")
          end
          error(err)
        end
        if not key or key:sub(1, 4) ~= "AKIA" then
          note(ctx, "key %s is not a long-term key: the session policy revokes it", tostring(key))
          return
        end
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
      name = "revoke_older_sessions",
      why = "every session issued before now is denied everything; new sign-ins still work",
      when = policy.all(policy.containing, policy.setting("iam", "revoke_sessions")),
      run = function(ctx)
        local name, at = ctx.state.name, now()
        local doc = revoke_document(at)
        local previous
        if is_user(ctx) then
          previous = existing_policy(iam.get_user_policy, { UserName = name, PolicyName = cfg.revoke_policy_name })
          ctx.save("user_policy", { UserName = name, PolicyName = cfg.revoke_policy_name, PolicyDocument = previous })
          local ok, err = aws.try(iam.put_user_policy, { UserName = name, PolicyName = cfg.revoke_policy_name, PolicyDocument = doc })
          if not ok then
            if aws.is(err, "NoSuchEntity") then
              ctx.skip("IAM user " .. name .. " no longer exists")
            end
            error(err)
          end
          note(ctx, "policy %s on user %s denies sessions issued before %s", cfg.revoke_policy_name, name, at)
        else
          previous = existing_policy(iam.get_role_policy, { RoleName = name, PolicyName = cfg.revoke_policy_name })
          ctx.save("role_policy", { RoleName = name, PolicyName = cfg.revoke_policy_name, PolicyDocument = previous })
          local ok, err = aws.try(iam.put_role_policy, { RoleName = name, PolicyName = cfg.revoke_policy_name, PolicyDocument = doc })
          if not ok then
            if aws.is(err, "NoSuchEntity") then
              ctx.skip("role " .. name .. " no longer exists")
            end
            error(err)
          end
          note(ctx, "policy %s on role %s denies every session issued before %s, legitimate ones too, "
            .. "until they get new credentials", cfg.revoke_policy_name, name, at)
        end
      end,
    },
    notify.step(),
  },
}
