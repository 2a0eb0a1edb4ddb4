-- s3 — block public access to the buckets a finding shows public.
--
-- Every bucket in resource.s3BucketDetails is looked at, not only the first:
-- those whose publicAccess.effectivePermission is PUBLIC get S3 Block Public
-- Access with all four settings on (the configuration they had before, or
-- its absence, is saved for restore); the others are journaled and left
-- alone. ExpectedBucketOwner is the finding's account, so a bucket name that
-- now belongs to someone else is refused by S3 rather than changed.
--
-- Policy:S3/AccountBlockPublicAccessDisabled: the account-level block
-- (s3control, AccountId = the finding's account) gets all four settings on
-- again; what it had before is saved for restore.
--
-- The principal, not only the bucket: when resource.accessKeyDetails names
-- an IAM user or an assumed role and the finding is severe enough
-- (config.s3.contain_principal, principal_min_severity), the IAM runbook of
-- lib/principal.lua runs for it after the buckets: its keys deactivated,
-- its older sessions revoked, as iam.lua does.
--
-- Routed here: S3Bucket findings, and the S3 findings that GuardDuty files
-- under AccessKey with the bucket in s3BucketDetails (Policy:S3/...,
-- Discovery:S3/... by a known key). Nothing is deleted: no bucket policy or
-- ACL is touched, the block only overrides them.

local config = require "config"
local aws = require "lib.aws"
local validate = require "lib.validate"
local policy = require "lib.policy"
local notify = require "lib.notify"
local principal = require "lib.principal"

local cfg = config.s3
local note = notify.note

local ACCOUNT_BLOCK_FINDING = "^Policy:S3/AccountBlockPublicAccessDisabled"

local ALL_ON = {
  BlockPublicAcls = true, IgnorePublicAcls = true,
  BlockPublicPolicy = true, RestrictPublicBuckets = true,
}

local SETTINGS = { "BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets" }

local function fully_blocked(configuration)
  for _, setting in ipairs(SETTINGS) do
    if not (configuration and configuration[setting] == true) then
      return false
    end
  end
  return true
end

-- The bucket's public access block now: the configuration, false when it
-- has none, nil when the bucket is gone.
local function current_block(ctx, bucket)
  local r, err = aws.try(s3.get_public_access_block, { Bucket = bucket, ExpectedBucketOwner = ctx.account })
  if r then
    return r.PublicAccessBlockConfiguration or false
  end
  if aws.is(err, "NoSuchPublicAccessBlockConfiguration") then
    return false
  end
  if aws.is(err, "NoSuchBucket") then
    return nil
  end
  error(err)
end

-- The account's public access block now: the configuration, or false when
-- it has none.
local function account_block(ctx)
  local r, err = aws.try(s3control.get_public_access_block, { AccountId = ctx.account })
  if r then
    return r.PublicAccessBlockConfiguration or false
  end
  if aws.is(err, "NoSuchPublicAccessBlockConfiguration") then
    return false
  end
  error(err)
end

-- Whether this run contains the finding's principal too, and why not.
local function principal_wanted(ctx)
  if not cfg.contain_principal then
    return false, "off in config.lua: s3.contain_principal"
  end
  if not ctx.state.principal then
    return false, "the finding names no credentials"
  end
  local min = cfg.principal_min_severity or 7
  if (ctx.severity or 0) < min then
    return false, string.format("severity %s is below s3.principal_min_severity (%s)",
      tostring(ctx.severity), tostring(min))
  end
  return true
end

local function containing_principal(ctx)
  return ctx.state.principal_wanted == true, ctx.state.principal_why
end

-- The principal is gone: the run still contains what bucket or account
-- setting it could; with nothing of the kind, there was nothing to do.
local function principal_gone(ctx, why)
  if ctx.state.account_block or #ctx.state.public > (ctx.state.gone_buckets or 0) then
    note(ctx, "%s: only the bucket side is contained", why)
  else
    policy.nothing_to_do(ctx, why .. "; no public bucket of the finding is there to block")
  end
end

local function account_finding(ctx)
  return ctx.state.account_block == true, "not an account-level block finding"
end

return {
  name = "s3",
  handles = {
    { resource_type = "S3Bucket", finding_type = "^AttackSequence:",
      skip = "an attack sequence: respond to the findings it is made of" },
    { resource_type = "AccessKey", finding_type = "^AttackSequence:",
      skip = "an attack sequence: respond to the findings it is made of" },
    { resource_type = "S3Bucket" },
    -- S3 findings that GuardDuty files under the access key that was used.
    { resource_type = "AccessKey", finding_type = "^[%w]+:S3/" },
  },
  steps = {
    {
      name = "check_finding",
      why = "every bucket name and the principal's names are checked before any call uses them",
      critical = true,
      run = function(ctx)
        validate.account_id(ctx.account, "accountId")
        local public, private = {}, {}
        for i, bucket in ipairs(ctx.finding.resource.s3BucketDetails or {}) do
          local name = validate.bucket_name(bucket.name, string.format("resource.s3BucketDetails[%d].name", i))
          local access = bucket.publicAccess and bucket.publicAccess.effectivePermission
          if access == "PUBLIC" then
            public[#public + 1] = name
          else
            private[#private + 1] = { name = name, access = access or "not given" }
          end
        end
        ctx.state.public, ctx.state.private = public, private
        ctx.state.account_block = string.find(ctx.type, ACCOUNT_BLOCK_FINDING) ~= nil
        principal.read(ctx)
        if ctx.state.account_block then
          ctx.state.headline = "account " .. ctx.account .. ": S3 Block Public Access"
        else
          ctx.state.headline = #public == 1 and ("bucket " .. public[1])
            or string.format("%d public bucket(s) of %d", #public, #public + #private)
        end
      end,
    },
    {
      name = "choose_response",
      why = "the team decides, by finding type, severity and resource role, what is contained",
      run = function(ctx)
        policy.respond(ctx, cfg, "notify") -- a bucket setting has no evidence to collect
        note(ctx, "response: %s (%s)", ctx.state.response, ctx.state.response_why)
        for _, bucket in ipairs(ctx.state.private) do
          note(ctx, "bucket %s is not public (%s): left alone", bucket.name, bucket.access)
        end
        local wanted, why = principal_wanted(ctx)
        local why_not = wanted and principal.unchangeable(ctx)
        if why_not then
          wanted, why = false, why_not
        end
        if ctx.state.response ~= "contain" then
          wanted, why = false, string.format("response is %s (%s)", ctx.state.response, ctx.state.response_why)
        end
        ctx.state.principal_wanted, ctx.state.principal_why = wanted, why
        if ctx.state.principal and ctx.state.principal.name then
          note(ctx, "%s: %s", ctx.state.principal.headline,
            wanted and "contained as well" or ("not contained here: " .. tostring(why)))
        end
        if ctx.state.account_block or wanted then
          return
        end
        if #ctx.state.public + #ctx.state.private == 0 then
          policy.nothing_to_do(ctx, "the finding names no bucket: nothing to block")
        elseif #ctx.state.public == 0 then
          policy.nothing_to_do(ctx, "no bucket in the finding is public: nothing to block")
        end
      end,
    },
    {
      name = "block_public_access",
      why = "nobody outside the account reads or writes the public buckets any more",
      when = policy.containing,
      run = function(ctx)
        -- Every bucket's block is read first and saved once, whole: the
        -- puts then overlap without racing over one undo record.
        local saved, befores, gone = {}, {}, 0
        aws.each(ctx.state.public, function(bucket)
          befores[bucket] = { block = current_block(ctx, bucket) } -- nil: gone; false: none
        end)
        local to_block = {}
        for _, bucket in ipairs(ctx.state.public) do
          local before = befores[bucket].block
          if before == nil then
            note(ctx, "bucket %s no longer exists", bucket)
            gone = gone + 1
          elseif fully_blocked(before) then
            note(ctx, "bucket %s already blocks all public access", bucket)
          else
            saved[bucket] = before or { absent = true }
            to_block[#to_block + 1] = bucket
          end
        end
        ctx.state.gone_buckets = gone
        if gone == #ctx.state.public and not ctx.state.account_block and not ctx.state.principal_wanted then
          policy.nothing_to_do(ctx, "every public bucket of the finding is gone: nothing to block")
        end
        if #to_block > 0 then
          ctx.save("public_access_blocks", saved)
        end
        aws.each(to_block, function(bucket)
          local before = befores[bucket].block
          s3.put_public_access_block {
            Bucket = bucket,
            ExpectedBucketOwner = ctx.account,
            PublicAccessBlockConfiguration = ALL_ON,
          }
          note(ctx, "bucket %s: public access blocked (before: %s)", bucket,
            before and json.encode(before) or "no public access block")
        end)
      end,
    },
    {
      name = "block_account_public_access",
      why = "the account-level block that was turned off is on again: no bucket of the account can be made public",
      when = policy.all(policy.containing, account_finding, policy.setting("s3", "block_account_public_access")),
      run = function(ctx)
        local before = account_block(ctx)
        if fully_blocked(before) then
          note(ctx, "account %s already blocks all public access", ctx.account)
          return
        end
        ctx.save("account_public_access_block", { AccountId = ctx.account,
          PublicAccessBlockConfiguration = before or { absent = true } })
        s3control.put_public_access_block { AccountId = ctx.account, PublicAccessBlockConfiguration = ALL_ON }
        note(ctx, "account %s: public access blocked (before: %s)", ctx.account,
          before and json.encode(before) or "no public access block")
      end,
    },
    -- the principal of the finding's key (lib/principal.lua): looked up,
    -- keys deactivated, older sessions revoked; then the notification
    principal.steps(containing_principal, principal_gone, notify.step()),
  },
}
