-- Trick: load a text chunk without an env and hope it runs with the real
-- globals (Lua's own load does). It must see an empty table.
local f = assert(load("return io, os, string, ec2, pcall, _G, require"))
local seen = {}
local values = table.pack(f())
for i = 1, values.n do
  if values[i] ~= nil then seen[#seen + 1] = tostring(i) end
end
local g = assert(load("x = 1 return x"))
assert(g() == 1 and x == nil, "a chunk's global leaked into ours")
return table.concat(seen, ",")
