-- lib/tasks — several named pieces of work inside one step, run together.
--
-- The runner runs a playbook's steps one after the other. Work that does not
-- depend on other work is written as tasks of one step, which run together
-- (aws.all): each task keeps its name, its guard and its own failure, and
-- one failed task stops none of the others.
--
--   tasks.run(ctx, {
--     { name = "snapshot_volumes", when = function(ctx) ... end, run = function(ctx) ... end },
--     ...
--   })
--
-- A task whose `when` returns false is not run. Each outcome is kept in
-- ctx.state.tasks[name] ("ok", "skipped" or "failed: why") and a failure is
-- noted for the summary; once every task has ended, the step fails with one
-- error naming each failed task, or returns.

local aws = require "lib.aws"
local notify = require "lib.notify"

local M = {}

function M.run(ctx, list)
  ctx.state.tasks = ctx.state.tasks or {}
  local failed, fns = {}, {}
  for _, task in ipairs(list) do
    fns[#fns + 1] = function()
      if task.when and not task.when(ctx) then
        ctx.state.tasks[task.name] = "skipped"
        return
      end
      local ok, err = pcall(task.run, ctx)
      if ok then
        ctx.state.tasks[task.name] = "ok"
        return
      end
      ctx.state.tasks[task.name] = "failed: " .. tostring(err)
      notify.note(ctx, "%s failed: %s", task.name, tostring(err))
      failed[#failed + 1] = task.name .. ": " .. tostring(err)
    end
  end
  aws.all(fns)
  if #failed > 0 then
    table.sort(failed) -- the same text whichever failure ended first
    error(table.concat(failed, "; "), 0)
  end
end

return M
