-- Trick (crash): Lua 5.4.4 bug "C-stack overflow with deep nesting of
-- coroutine.close": a __close handler that closes the previous coroutine,
-- 30,000 deep. Lua 5.4.4 counts each close's C calls from zero and the
-- process dies of SIGSEGV; the sandbox counts the closes itself.
local coro = false
for i = 1, 30000 do
  local previous = coro
  coro = coroutine.create(function()
    local cc <close> = setmetatable({}, { __close = function()
      if previous then
        local ok, err = coroutine.close(previous)
        if not ok then error(err, 0) end
      end
    end })
    coroutine.yield()
  end)
  assert(coroutine.resume(coro))
end
local ok, err = coroutine.close(coro)
return tostring(ok) .. ": " .. tostring(err)
