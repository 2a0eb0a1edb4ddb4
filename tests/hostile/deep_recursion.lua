-- Trick: unbounded recursion, to exhaust the Lua stack or the host's memory.
local function down(n) return 1 + down(n + 1) end
return down(1)
