-- Trick: run out of memory inside a coroutine: coroutine.resume returns the
-- error as a value, and Lua's coroutine.wrap re-raises it as a plain error.
local co = coroutine.create(function() return string.rep("x", 1 << 30) end)
coroutine.resume(co)
return "swallowed"
