-- Trick: rawset skips __newindex: use it to plant a field in a read-only
-- table (the strings' __index, a service table) that other code then finds.
local found = {}
for name, t in pairs { string = string, ec2 = ec2, table = table, json = json } do
  if pcall(rawset, t, "upper", function() return "pwned" end) then
    found[#found + 1] = name
  end
end
if ("x"):upper() ~= "X" then found[#found + 1] = "string.upper replaced" end
if rawget(string, "upper") ~= nil then found[#found + 1] = "raw field" end
if next(ec2) ~= nil then found[#found + 1] = "ec2 has raw fields" end
return table.concat(found, ",")
