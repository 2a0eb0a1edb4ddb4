-- lib/aws — small helpers around the AWS primitives, so that the playbooks
-- read as the calls they make.
--
-- A primitive raises its AWS failure as a table { code, message, status,
-- request_id, op } (see docs/playbook-api.md); these helpers turn the
-- expected ones into values and let everything else propagate.

local M = {}

-- fn(params): its result, or nil and the error when AWS refused the call.
-- Anything that is not an AWS error (a bug in the playbook) is raised again.
function M.try(fn, params)
  local ok, result = pcall(fn, params)
  if ok then
    return result
  end
  if type(result) == "table" and result.code then
    return nil, result
  end
  error(result, 0)
end

-- Whether err (from try) has one of the codes given.
function M.is(err, ...)
  for i = 1, select("#", ...) do
    if err and err.code == select(i, ...) then
      return true
    end
  end
  return false
end

-- Whether err says the thing asked for does not exist (HeadObject answers a
-- bare 404, which has no code of its own).
function M.not_found(err)
  return err ~= nil and (err.status == 404 or M.is(err, "NotFound", "NoSuchKey", "404"))
end

-- Concurrency: what may run together, said in plain Lua.
--
--   aws.all { f1, f2, ... }   calls every function (no arguments) and returns
--                             once all of them have returned or raised. On
--                             success it returns a list: results[i] is the
--                             first value fi returned. When any raised, it
--                             raises ONE error, after all have finished:
--                             "<k> of <n> failed: <err>; <err>" (each err as
--                             tostring gives it, in list order), so one failed
--                             branch never cuts another short.
--   aws.each(list, fn)        aws.all over fn(item) for every item of list;
--                             the same result and error shape.
--
-- When the engine provides them (a global `aws` table with `all` and `each`:
-- calls on coroutines over one event loop, really concurrent), those are
-- used. Otherwise the stand-in below runs the functions one after the other,
-- in list order, with the same shape: everything behaves the same, only
-- slower. Either way the order in which calls are journaled follows the
-- order in which they end, so a playbook must not depend on it.

local function failure(failed, n)
  return string.format("%d of %d failed: %s", #failed, n, table.concat(failed, "; "))
end

local function all_in_order(fns)
  local results, failed = {}, {}
  for i, fn in ipairs(fns) do
    local ok, result = pcall(fn)
    if ok then
      results[i] = result
    else
      failed[#failed + 1] = tostring(result)
    end
  end
  if #failed > 0 then
    error(failure(failed, #fns), 0)
  end
  return results
end

local engine = _G.aws
if type(engine) == "table" and type(engine.all) == "function" then
  M.all = engine.all
  M.each = engine.each or function(items, fn)
    local fns = {}
    for i, item in ipairs(items) do
      fns[i] = function() return fn(item) end
    end
    return engine.all(fns)
  end
  M.concurrent = true
else
  M.all = all_in_order
  function M.each(items, fn)
    local fns = {}
    for i, item in ipairs(items) do
      fns[i] = function() return fn(item) end
    end
    return all_in_order(fns)
  end
  M.concurrent = false
end

-- Every item of a Marker/NextMarker listing (elb, elbv2), all pages joined:
-- aws.all_pages(elb.describe_load_balancers, {}, "LoadBalancerDescriptions").
-- At most max_pages pages (default 20), so a huge account cannot eat the
-- run's call budget.
function M.all_pages(fn, params, list_key, max_pages)
  local items, marker = {}, nil
  for _ = 1, max_pages or 20 do
    local page_params = {}
    for k, v in pairs(params) do
      page_params[k] = v
    end
    page_params.Marker = marker
    local page = fn(page_params)
    for _, item in ipairs(page[list_key] or {}) do
      items[#items + 1] = item
    end
    marker = page.NextMarker
    if not marker or marker == "" then
      break
    end
  end
  return items
end

return M
