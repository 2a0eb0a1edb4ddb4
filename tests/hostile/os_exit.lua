-- Trick: end the host process, run a program, or read its environment
-- (credentials live there).
local found = {}
for _, name in ipairs { "exit", "execute", "getenv", "remove", "rename", "tmpname" } do
  if os[name] ~= nil then found[#found + 1] = "os." .. name end
end
if pcall(function() os.exit(1) end) then found[#found + 1] = "os.exit ran" end
return table.concat(found, ",")
