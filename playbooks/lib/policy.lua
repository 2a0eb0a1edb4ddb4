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
function M.choose(ctx, section)
  for i, rule in ipairs(section.rules or {}) do
    if matches(rule, ctx) then
      if not RESPONSES[rule.response] then
        error(string.format("config: rule %d has response %q (contain, evidence or notify)",
          i, tostring(rule.response)), 0)
      end
      return rule.response, string.format("rule %d of the config", i)
    end
  end
  return section.default or "contain", "the default"
end

return M
