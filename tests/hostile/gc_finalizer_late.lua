-- Trick: set __gc on the metatable after setmetatable, then churn memory so
-- a collection runs. Lua only finalizes objects whose metatable had __gc
-- when it was set, so nothing may run; the host must not hang in lua_close.
local mt = {}
local victims = {}
for i = 1, 100 do victims[i] = setmetatable({}, mt) end
mt.__gc = function() while true do end end
victims = nil
for i = 1, 200000 do local _ = { i } end
return "ok"
