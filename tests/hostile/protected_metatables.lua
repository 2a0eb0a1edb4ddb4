-- Trick: take or replace the metatable of something the sandbox handed out
-- (the strings, a library, a service table, an AWS error) to swap its
-- methods. Returns what worked.
local found = {}
local function must_fail(name, f)
  if pcall(f) then found[#found + 1] = name end
end
must_fail("setmetatable(string)", function() setmetatable(string, {}) end)
must_fail("setmetatable(ec2)", function() setmetatable(ec2, nil) end)
must_fail("setmetatable(json)", function() setmetatable(json, {}) end)
must_fail("string mt __index write", function() getmetatable("").__index.upper = nil end)
must_fail("string.upper write", function() string.upper = function() return "pwned" end end)
must_fail("table.insert write", function() table.insert = nil end)
must_fail("ec2 method write", function() ec2.describe_instances = print end)
must_fail("ec2 new method", function() ec2.terminate_instances = print end)
must_fail("math.floor write", function() math.floor = nil end)
for _, v in ipairs { string, table, math, os, utf8, coroutine, json, ec2, s3, iam } do
  if getmetatable(v) ~= false then found[#found + 1] = "a metatable is visible" end
end
if getmetatable("") ~= false then found[#found + 1] = "string metatable visible" end
if ("x"):upper() ~= "X" then found[#found + 1] = "string.upper changed" end
return table.concat(found, ",")
