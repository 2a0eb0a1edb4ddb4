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
-- A run takes the locks of two windows, k and k+1: both writes at once (one
-- round trip, beside the instance's lookup); when either is held, in order,
-- lower first (so two runs never wait for each other in a cycle): a run that
-- got k+1 but not k releases k+1 before it waits for k. With window >= the longest run
-- (config.ec2.lock.window_seconds, above the Lambda timeout), two runs that
-- overlap in time started less than a window apart, so they share one of
-- these windows: one of them waits. A run that died holding a lock never
-- releases it; its windows pass, and runs started two windows later take
-- new keys: that is the expiry (each lock's body also says until when it
-- holds). Sooner: each lock says its holder's own deadline (ctx.deadline,
-- the object's metadata "deadline", epoch seconds), when the engine stops
-- that run whatever it is doing; a waiter that finds it passed (plus
-- DEADLINE_GRACE_SECONDS for two hosts' clocks) and no release takes the
-- next generation's key: the holder died (a Lambda timeout), and the
-- redelivery of its finding goes on at once instead of waiting out the
-- windows. A waiter gives up after config.ec2.lock.wait_seconds and goes on
-- without the lock, saying so: the EC2 playbook's steps converge anyway
-- (groups found by name, originals saved without deadbolt's groups,
-- snapshots counted), the lock only keeps runs from interleaving.

local config = require "config"
local aws = require "lib.aws"
local notify = require "lib.notify"

local M = {}

-- Past a holder's deadline, how long before its lock counts as dead: the
-- clocks of two hosts differ a little, and a call sent just before the
-- deadline may still land.
local DEADLINE_GRACE_SECONDS = 5

local function prefix(ctx, resource)
  return string.format("locks/%s/%s/%s/", ctx.account, ctx.region, resource)
end

-- The key of window w's lock, generation g, under base (prefix).
local function lock_key(base, w, g)
  return string.format("%sw%d.%d", base, w, g)
end

-- Writes key if free: "taken"; "held" when another run has it (412);
-- "racing" when another write of it is in flight (409: retry the write).
-- deadline (epoch seconds, or nil) goes in the object's metadata.
local function take(bucket, key, body, deadline)
  local params = { Bucket = bucket, Key = key, Body = body,
                   ContentType = "application/json", IfNoneMatch = "*" }
  if deadline then
    params.Metadata = { deadline = string.format("%d", deadline) }
  end
  local ok, err = aws.try(s3.put_object, params)
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

local function head(bucket, key)
  local found, err = aws.try(s3.head_object, { Bucket = bucket, Key = key })
  if found then
    return found
  end
  if aws.not_found(err) then
    return nil
  end
  error(err)
end

-- Whether the holder of key is done with it: "released" (it wrote
-- key.released), "dead" (its deadline passed without a release), or nil.
-- holder keeps the holder's deadline, read once: a lock is never rewritten.
local function free(bucket, key, holder)
  local released
  aws.all {
    function() released = head(bucket, key .. ".released") ~= nil end,
    function()
      if holder.deadline == nil then
        local lock = head(bucket, key)
        holder.deadline = tonumber(lock and lock.Metadata and lock.Metadata.deadline) or false
      end
    end,
  }
  if released then
    return "released"
  end
  if holder.deadline and os.time() > holder.deadline + DEADLINE_GRACE_SECONDS then
    return "dead"
  end
end

-- The lock of window k from generation g on (first: the answer to a write
-- of that key already sent), or nil and why when the wait ran out.
local function take_window(ctx, lk, k, g, first)
  local settings = config.ec2.lock
  local function waited_out(key)
    if os.time() >= lk.wait_until then
      return string.format("%s is held and was not released within %d s", key, settings.wait_seconds)
    end
    sleep(settings.poll_seconds)
  end
  while true do
    local key = lock_key(lk.base, k, g)
    local got = first or take(lk.bucket, key, lk.body, lk.deadline)
    first = nil
    if got == "taken" then
      return key
    end
    if got == "held" then
      local holder = {}
      while true do
        local state = free(lk.bucket, key, holder)
        if state == "dead" then
          notify.note(ctx, "%s: its run passed its deadline (%s) without releasing it: taken over",
            key, os.date("!%Y-%m-%dT%H:%M:%SZ", holder.deadline))
        end
        if state then
          break
        end
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

local function release_keys(ctx, bucket, keys)
  aws.each(keys, function(key)
    -- only this run writes key.released: a 412 or 409 would mean it is written
    take(bucket, key .. ".released", json.encode({ finding = ctx.id, released_at = now() }))
  end)
end

-- Takes the resource's lock for this run (ctx.state.locks: the keys), or
-- notes why the run goes on without it. Nothing without an artifact bucket.
-- Returns true when another run held it (waited for, or not taken): what
-- was read before may have changed. Both windows' writes go at once: one
-- round trip when no other run holds them.
function M.acquire(ctx, resource)
  local bucket, settings = ctx.env.ARTIFACT_BUCKET, config.ec2.lock
  if not bucket or not settings or not settings.enabled then
    return false
  end
  local window = settings.window_seconds
  local start = os.time()
  local k = start // window
  local base = prefix(ctx, resource)
  local lk = { bucket = bucket, base = base, deadline = ctx.deadline,
               wait_until = start + settings.wait_seconds,
               body = json.encode({ finding = ctx.id, type = ctx.type, taken_at = now(),
                                    expires_epoch = (k + 2) * window, deadline = ctx.deadline }) }
  local first = {}
  local ok, err = pcall(aws.all, {
    function() first[1] = take(bucket, lock_key(base, k, 0), lk.body, lk.deadline) end,
    function() first[2] = take(bucket, lock_key(base, k + 1, 0), lk.body, lk.deadline) end,
  })
  -- k raced another write while k+1 was taken: k again after a poll
  -- before deciding (S3 then says taken, or 412).
  while ok and first[1] == "racing" and first[2] == "taken" and os.time() < lk.wait_until do
    sleep(settings.poll_seconds)
    ok, err = pcall(take, bucket, lock_key(base, k, 0), lk.body, lk.deadline)
    first[1] = ok and err or nil
  end
  local g2 = 0
  if not ok or (first[1] ~= "taken" and first[2] == "taken") then
    -- k+1 without k is given back before waiting for k (lower first: no
    -- cycle); after an error, whatever was taken.
    local back = {}
    for i, w in ipairs({ k, k + 1 }) do
      if first[i] == "taken" and (not ok or i == 2) then
        back[#back + 1] = lock_key(base, w, 0)
      end
    end
    release_keys(ctx, bucket, back)
    if not ok then
      error(err, 0)
    end
    first[2], g2 = nil, 1
  end
  local keys = {}
  local got, why = take_window(ctx, lk, k, 0, first[1])
  if got then
    keys[1] = got
    got, why = take_window(ctx, lk, k + 1, g2, first[2])
    keys[2] = got
  end
  if why then
    notify.note(ctx, "WARNING: going on without the lock on %s: %s", resource, why)
  end
  ctx.state.locks = keys
  local waited = keys[1] ~= lock_key(base, k, 0) or (keys[2] ~= nil and keys[2] ~= lock_key(base, k + 1, 0))
  if #keys == 2 then
    notify.note(ctx, "lock on %s taken (%s)%s", resource, table.concat(keys, ", "),
      waited and string.format(" after waiting %d s for another run", os.time() - start) or "")
  end
  return waited or #keys < 2
end

-- Releases what acquire took: one new object beside each lock.
function M.release(ctx)
  release_keys(ctx, ctx.env.ARTIFACT_BUCKET, ctx.state.locks or {})
  ctx.state.locks = nil
end

return M
