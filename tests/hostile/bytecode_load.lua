-- Trick: run bytecode, where the VM trusts what it reads: a string.dump'd
-- chunk, a hand-made "\27Lua" header, mode "b" or "bt", a reader function.
local found = {}
local function try(name, ...)
  local ok, f = pcall(load, ...)
  if ok and type(f) == "function" then found[#found + 1] = name end
end
try("esc header", "\27Lua\84\0\25\147\13\10\26\10\4\8\8\120\86\0\0\0\0\0\0\0\0\0\0\0\40\119\64\1")
try("mode b", "return 1", "x", "b")
try("mode bt", "return 1", "x", "bt")
try("reader function", function() return nil end)
if string.dump then found[#found + 1] = "string.dump" end
local mt_index = getmetatable("") and getmetatable("").__index
if mt_index and mt_index.dump then found[#found + 1] = "string metatable dump" end
return table.concat(found, ",")
