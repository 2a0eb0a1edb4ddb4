-- A helper module, loaded with require "lib.util".
local M = {}

function M.instance_id(ctx)
  return ctx.finding.resource.instanceDetails.instanceId
end

return M
