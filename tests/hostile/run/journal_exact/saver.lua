-- Trick (exact journal): undo data the old writer wrote wrongly or forever:
-- keys of every type, a shared sub-table (exponential when walked as a
-- tree), a cycle, a value too large for a journal line.
local shared = {}
for i = 1, 30 do shared = { shared, shared } end
local cycle = {}
cycle.self = cycle
return {
  name = "saver",
  handles = { { resource_type = "Instance" } },
  steps = {
    { name = "keys", run = function(ctx) ctx.save("v", { [1] = "one", [2.5] = "half", [true] = "yes", s = "s" }) end },
    { name = "shared", run = function(ctx) ctx.save("v", shared) end },
    { name = "cycle", run = function(ctx) ctx.save("v", cycle) end },
    { name = "oversize", run = function(ctx) ctx.save("v", string.rep("x", 3 * 1024 * 1024)) end },
    { name = "after", run = function(ctx) ctx.save("v", "still journaled") end },
  },
}
