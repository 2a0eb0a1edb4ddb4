-- lib/validate — identifiers from a finding are checked before any call
-- uses them. A finding is data from outside: a malformed identifier is
-- rejected with an error naming the field, and no call is made with it.
--
-- Each function returns the value when it is well formed and raises
-- otherwise.

local M = {}

-- The value, quoted and cut short, for an error message.
local function shown(value)
  if type(value) ~= "string" then
    return type(value) == "nil" and "nothing" or "a " .. type(value)
  end
  local s = value:sub(1, 80):gsub("[^%w%p ]", "?")
  return '"' .. s .. (#value > 80 and '..."' or '"')
end

local function reject(field, value, expected)
  error(string.format("malformed finding: %s is %s, expected %s", field, shown(value), expected), 0)
end

-- i- and 8 or 17 lowercase hex digits.
function M.instance_id(value, field)
  if type(value) ~= "string" or not (#value == 10 or #value == 19) or not value:match("^i%-[0-9a-f]+$") then
    reject(field or "the instance id", value, "i- and 8 or 17 hex digits")
  end
  return value
end

-- S3's bucket naming rules (3 to 63 of a-z 0-9 . -, starting and ending
-- with a letter or digit, no "..", not an IP address), widened to the
-- legacy us-east-1 names (up to 255, upper case and _ too): what matters is
-- that nothing here can reach into a path or a query.
function M.bucket_name(value, field)
  local ok = type(value) == "string" and #value >= 3 and #value <= 255
    and value:match("^[%w][%w._-]*[%w]$") ~= nil
    and not value:find("..", 1, true)
    and not value:match("^%d+%.%d+%.%d+%.%d+$")
  if not ok then
    reject(field or "the bucket name", value, "an S3 bucket name")
  end
  return value
end

-- IAM user and role names: 1 to 64 of letters, digits and +=,.@_-
function M.iam_name(value, field)
  if type(value) ~= "string" or #value < 1 or #value > 64 or not value:match("^[%w+=,.@_-]+$") then
    reject(field or "the IAM name", value, "an IAM name (1 to 64 of letters, digits and +=,.@_-)")
  end
  return value
end

-- Access key ids: 16 to 128 upper-case letters and digits (AKIA... for a
-- long-term key, ASIA... for a temporary one).
function M.access_key_id(value, field)
  if type(value) ~= "string" or #value < 16 or #value > 128 or not value:match("^[A-Z0-9]+$") then
    reject(field or "the access key id", value, "an access key id (16 to 128 of A-Z and 0-9)")
  end
  return value
end

-- Twelve digits.
function M.account_id(value, field)
  if type(value) ~= "string" or #value ~= 12 or not value:match("^%d+$") then
    reject(field or "the account id", value, "12 digits")
  end
  return value
end

-- An instance profile's ARN (from the deployment, checked all the same).
function M.instance_profile_arn(value, field)
  if type(value) ~= "string" or #value > 2048
    or not value:match("^arn:aws[%w-]*:iam::%d+:instance%-profile/[%w+=,.@_/-]+$") then
    reject(field or "the instance profile ARN", value, "arn:<partition>:iam::<account>:instance-profile/<name>")
  end
  return value
end

return M
