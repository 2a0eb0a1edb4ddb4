-- lib/policy — which response a finding gets: the first rule of a config
-- section (config.ec2, config.s3, config.iam) that matches, else its default.
-- The rule format is described at the top of config.lua.

local M = {}

local RESPONSES = { contain = true, evidence = true, notify = true }

local function matches(rule, ctx)
  local role = ctx.finding.service and ctx.finding.service.resourceRole
  if rule.finding_type and not string.find(ctx.type, rule.finding_type) then
    return false
  end
  if rule.resource_role and rule.resource_role ~= role then
    return false
  end
  if rule.min_severity and ctx.severity < rule.min_severity then
    return false
  end
  if rule.max_severity and ctx.severity > rule.max_severity then
    return false
  end
  return true
end

-- The response for ctx's finding and a description of why.
local function choose(ctx, section)
  for i, rule in ipairs(section.rules or {}) do
    if matches(rule, ctx) then
      if not RESPONSES[rule.response] then
        error(string.format("config: rule %d has response %q (contain, evidence or notify)",
          i, tostring(rule.response)), 0)
      end
      return rule.response, string.format("rule %d of the config", i)
    end
  end
  local default = section.default or "contain"
  if not RESPONSES[default] then
    error(string.format("config: default is %q (contain, evidence or notify)", tostring(default)), 0)
  end
  return default, "the default"
end
M.choose = choose

local NOT_CONTAINED = {
  evidence = "evidence collected, not contained",
  notify = "notification only",
}

-- Chooses the response (downgraded to `ceiling` when the resource has
-- nothing of that kind: "notify" for a bucket setting), keeps it in
-- ctx.state and tells the runner when the run will not contain.
function M.respond(ctx, section, ceiling)
  local response, why = choose(ctx, section)
  if ceiling and response == "evidence" then
    response = ceiling
  end
  ctx.state.response, ctx.state.response_why = response, why
  if NOT_CONTAINED[response] then
    ctx.not_contained(string.format("%s (%s)", NOT_CONTAINED[response], why))
  end
end

-- Nothing to contain after all (no public bucket, a Root credential): the
-- run ends skipped with why, unless a step fails.
function M.nothing_to_do(ctx, why)
  ctx.state.nothing_to_do = why
  ctx.state.response, ctx.state.response_why = "notify", why
  ctx.not_contained(why)
end

-- Guards for `when`: each says whether the step applies and, when it does
-- not, why, in words the summary shows.

function M.containing(ctx)
  return ctx.state.response == "contain",
    string.format("response is %s (%s)", tostring(ctx.state.response), tostring(ctx.state.response_why))
end

function M.responding(ctx)
  return ctx.state.response ~= "notify",
    string.format("response is notify (%s)", tostring(ctx.state.response_why))
end

-- A guard on a setting of config.lua: setting("ec2", "snapshots").
function M.setting(section, key)
  local config = require "config"
  return function()
    return config[section][key] == true, string.format("off in config.lua: %s.%s", section, key)
  end
end

-- Every guard given must hold; the first that does not says why.
function M.all(...)
  local guards = { ... }
  return function(ctx)
    for _, guard in ipairs(guards) do
      local yes, why = guard(ctx)
      if not yes then
        return false, why
      end
    end
    return true
  end
end

return M
