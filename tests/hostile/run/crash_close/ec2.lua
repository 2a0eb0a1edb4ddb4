-- Trick (crash): Lua 5.4.4's "C-stack overflow with deep nesting of
-- coroutine.close" inside a step: __close handlers that each close the
-- previous coroutine, 30,000 deep. The process must not die of a signal.
return {
  name = "ec2",
  handles = { { resource_type = "Instance" } },
  steps = { { name = "nest", run = function(ctx)
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
    if not ok then error(err, 0) end
  end } },
}
