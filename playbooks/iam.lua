-- iam — cut off the credentials a finding names.
--
-- THE ORDER, AND WHY: the runbook is lib/principal.lua's, shared with the
-- S3 playbook (an S3 finding's principal is contained the same way):
--   1. look the principal up (GetUser / GetRole): a principal that is gone
--      ends the run with nothing to do, in a dry run as in a live run;
--   2. IAMUser: deactivate the finding's long-term key (AKIA..., only when it
--      is that user's), then every other key created on or after the
--      finding's eventFirstSeen; never delete a key;
--   3. the inline deny policy AWSRevokeOlderSessions on the user or the
--      role: every session issued before now is denied everything.
-- Root, FederatedUser and roles AWS manages are journaled and notified for
-- a person to act. lib/principal.lua says why each step is there.

local config = require "config"
local policy = require "lib.policy"
local notify = require "lib.notify"
local principal = require "lib.principal"

local cfg = config.iam
local note = notify.note

local function gone(ctx, why)
  policy.nothing_to_do(ctx, why)
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
        local p = principal.read(ctx)
        if not p then
          error("malformed finding: resource.accessKeyDetails is missing", 0)
        end
        ctx.state.headline = p.headline
      end,
    },
    {
      name = "choose_response",
      why = "the team decides, by finding type, severity and resource role, what is contained",
      run = function(ctx)
        policy.respond(ctx, cfg, "notify") -- nothing to collect for a credential
        note(ctx, "response: %s (%s)", ctx.state.response, ctx.state.response_why)
        local why_not = principal.unchangeable(ctx)
        if why_not then
          policy.nothing_to_do(ctx, why_not)
          note(ctx, why_not)
        end
      end,
    },
    -- look_up_principal, deactivate_access_key, deactivate_new_access_keys,
    -- revoke_older_sessions (lib/principal.lua), then the notification
    principal.steps(policy.containing, gone, notify.step()),
  },
}
