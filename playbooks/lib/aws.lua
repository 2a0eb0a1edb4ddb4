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

-- Concurrency: what may run together, said in plain Lua, with the engine's
-- aws.all and aws.each (the global `aws` table, docs/playbook-api.md),
-- offered here beside the helpers so that a playbook needs one name:
--
--   aws.all { f1, f2, ... }   runs the functions together and returns once
--                             all have returned or raised: a list, results[i]
--                             the first value fi returned. When any raised,
--                             ONE error table, after all have finished:
--                             message ("aws.all: <k> of <n> failed: [i] ..."),
--                             errors[i] (what fi raised, unchanged), results,
--                             failed, total; one failed branch never cuts
--                             another short.
--   aws.each(list, fn)        aws.all over fn(item) for every item of list.
--
-- The journal, the dry-run plan and ctx.save keep the order of a sequential
-- run (function 1's, then function 2's, ...). A branch must not rely on what
-- another branch does before or after its own calls: the branches
-- interleave at every call.
--   aws.wait(seconds, every, check)   calls check() every `every` s until it
--                             returns a value (that value), for at most
--                             seconds (then nil). A dry run does not wait:
--                             it plans the wait and answers as if it were met.
--   aws.first(fn)             fn, whose calls inside aws.all start before the
--                             others waiting for the same service: the chain.
M.all, M.each, M.wait, M.first = aws.all, aws.each, aws.wait, aws.first

-- aws.cached(prim) is the read primitive prim whose answer the engine keeps
-- for the document being run (a `deadbolt run` file of findings, one Lambda
-- invocation) and gives again to the same call (same parameters, account
-- and region) instead of sending it: for listings every finding needs
-- (load balancers, target groups). Any write to that service in that
-- account and region forgets what was kept (an Auto Scaling write also the
-- load balancers'), and nothing is given again after 60 s
-- (docs/playbook-api.md). Never for a read that waits for a change.
M.cached = aws.cached

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
