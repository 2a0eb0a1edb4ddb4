-- Trick (crash): Lua 5.4.4 bug "C-stack overflow with deep nesting of
-- coroutine.close": a __close handler that closes the previous coroutine,
-- 30,000 deep. Lua 5.4.4 counts each close's C calls from zero and the
-- process dies of SIGSEGV; the sandbox counts the closes itself too.
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
-- the sandbox's refusal, or Lua's own C-stack limit (5.4.6 and later count
-- the C calls of nested closes): either way an error, not a signal
local refused = tostring(err):find("closes nested more than 100 deep", 1, true) or
                tostring(err):find("C stack overflow", 1, true)
return tostring(ok) .. ": " .. (refused and "refused" or tostring(err))
