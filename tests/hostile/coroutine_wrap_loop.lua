-- Trick: the same through coroutine.wrap, inside a pcall.
local f = coroutine.wrap(function() while true do end end)
pcall(f)
return "swallowed"
