-- lib/lock — one run at a time per resource, with no service but the
-- artifact bucket: S3's conditional write (PutObject with IfNoneMatch "*"
-- creates an object only if its key is free; S3 answers 412
-- PreconditionFailed to every other writer of that key, and 409
-- ConditionalRequestConflict to a writer that raced another write of the
-- key still in progress, asking it to retry). The allow-list has
-- no DeleteObject, so a lock is never removed: it is released by writing a
-- second object beside it, and it expires with its time window.
--
-- Keys, under locks/<account>/<region>/<resource>/ (sandbox/rules.c lets
-- PutObject write only new objects there):
--   w<k>.<g>            the lock of window k (k = floor(time / window)),
--                       generation g = 0, 1, 2, ...
--   w<k>.<g>.released   written by its holder when the run is done
-- Taking a window's lock: write w<k>.0; on 412, wait for w<k>.0.released,
-- then try w<k>.1, and so on: a chain of tickets, each free once the one
-- before it is released. On 409 the key is held by a write in flight that
-- may still fail: wait a poll and write the same key again (S3's answer
-- then says which: taken, or 412), within the same wait.
-- A run takes the locks of two windows, k and k+1, lower first (so two runs
-- never wait for each other in a cycle). With window >= the longest run
-- (config.ec2.lock.window_seconds, above the Lambda timeout), two runs that
-- overlap in time started less than a window apart, so they share one of
-- these windows: one of them waits. A run that died holding a lock never
-- releases it; its windows pass, and runs started two windows later take
-- new keys: that is the expiry (each lock's body also says until when it
-- holds). A waiter gives up after config.ec2.lock.wait_seconds and goes on
-- without the lock, saying so: the EC2 playbook's steps converge anyway
-- (groups found by name, originals saved without deadbolt's groups,
-- snapshots counted), the lock only keeps runs from interleaving.

local config = require "config"
local aws = require "lib.aws"
local notify = require "lib.notify"

local M = {}

local function prefix(ctx, resource)
  return string.format("locks/%s/%s/%s/", ctx.account, ctx.region, resource)
end

-- Writes key if free: "taken"; "held" when another run has it (412);
-- "racing" when another write of it is in flight (409: retry the write).
local function take(bucket, key, body)
  local ok, err = aws.try(s3.put_object, { Bucket = bucket, Key = key, Body = body,
                                           ContentType = "application/json", IfNoneMatch = "*" })
  if ok then
    return "taken"
  end
  if err.status == 412 or aws.is(err, "PreconditionFailed") then
    return "held"
  end
  if err.status == 409 or aws.is(err, "ConditionalRequestConflict") then
    return "racing"
  end
  error(err)
end

local function released(bucket, key)
  local found, err = aws.try(s3.head_object, { Bucket = bucket, Key = key .. ".released" })
  if found then
    return true
  end
  if aws.not_found(err) then
    return false
  end
  error(err)
end

-- The lock of one window: its key, or nil and why when the wait ran out.
local function take_window(ctx, bucket, base, k, deadline, body)
  local settings = config.ec2.lock
  local g = 0
  local function waited_out(key)
    if os.time() >= deadline then
      return string.format("%s is held and was not released within %d s", key, settings.wait_seconds)
    end
    sleep(settings.poll_seconds)
  end
  while true do
    local key = string.format("%sw%d.%d", base, k, g)
    local got = take(bucket, key, body)
    if got == "taken" then
      return key
    end
    if got == "held" then
      while not released(bucket, key) do
        local why = waited_out(key)
        if why then
          return nil, why
        end
      end
      g = g + 1
    else -- racing: the same key again, after a poll
      local why = waited_out(key)
      if why then
        return nil, why
      end
    end
  end
end

-- Takes the resource's lock for this run (ctx.state.locks: the keys), or
-- notes why the run goes on without it. Nothing without an artifact bucket.
-- Returns true when another run held it (waited for, or not taken): what
-- was read before may have changed.
function M.acquire(ctx, resource)
  local bucket, settings = ctx.env.ARTIFACT_BUCKET, config.ec2.lock
  if not bucket or not settings or not settings.enabled then
    return false
  end
  local window = settings.window_seconds
  local start = os.time()
  local k = start // window
  local base = prefix(ctx, resource)
  local body = json.encode({ finding = ctx.id, type = ctx.type, taken_at = now(),
                             expires_epoch = (k + 2) * window })
  local deadline, keys = start + settings.wait_seconds, {}
  for _, w in ipairs({ k, k + 1 }) do
    local key, why = take_window(ctx, bucket, base, w, deadline, body)
    if not key then
      notify.note(ctx, "WARNING: going on without the lock on %s: %s", resource, why)
      break
    end
    keys[#keys + 1] = key
  end
  ctx.state.locks = keys
  local waited = keys[1] ~= string.format("%sw%d.0", base, k) or (keys[2] ~= nil and keys[2] ~= string.format("%sw%d.0", base, k + 1))
  if #keys == 2 then
    notify.note(ctx, "lock on %s taken (%s)%s", resource, table.concat(keys, ", "),
      waited and string.format(" after waiting %d s for another run", os.time() - start) or "")
  end
  return waited or #keys < 2
end

-- Releases what acquire took: one new object beside each lock.
function M.release(ctx)
  local bucket = ctx.env.ARTIFACT_BUCKET
  aws.each(ctx.state.locks or {}, function(key)
    -- only this run writes key.released: a 412 or 409 would mean it is written
    take(bucket, key .. ".released", json.encode({ finding = ctx.id, released_at = now() }))
  end)
  ctx.state.locks = nil
end

return M
