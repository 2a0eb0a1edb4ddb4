-- Trick: loop inside a coroutine, hoping its thread has no hook (hooks are
-- per thread) and that resume returns the budget error as a value.
local co = coroutine.create(function() while true do end end)
local ok, err = coroutine.resume(co)
return "swallowed"
