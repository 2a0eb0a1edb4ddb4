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

-- Calls fn(item) for every item of the list even when some fail, then raises
-- one error naming every failure: one bad volume does not stop the others.
function M.each(items, fn)
  local failed = {}
  for _, item in ipairs(items) do
    local ok, err = pcall(fn, item)
    if not ok then
      failed[#failed + 1] = tostring(err)
    end
  end
  if #failed > 0 then
    error(string.format("%d of %d failed: %s", #failed, #items, table.concat(failed, "; ")), 0)
  end
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
