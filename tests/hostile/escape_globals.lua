-- Trick: reach io, os.execute, debug or package through any path a script
-- can name: globals, _G, _ENV, the strings' metatable, library tables.
-- Returns the paths that found something; the sandbox wants "".
local found = {}
local function probe(path, get)
  local ok, v = pcall(get)
  if ok and v ~= nil and v ~= false then found[#found + 1] = path end
end
for _, name in ipairs { "io", "debug", "package", "dofile", "loadfile", "loadstring",
                        "module", "newproxy", "setfenv", "getfenv", "warn", "gcinfo" } do
  probe(name, function() return _G[name] end)
  probe("_ENV." .. name, function() return _ENV[name] end)
  probe("rawget(_G)." .. name, function() return rawget(_G, name) end)
end
for _, name in ipairs { "execute", "exit", "getenv", "remove", "rename", "tmpname",
                        "setlocale", "difftime" } do
  probe("os." .. name, function() return os[name] end)
end
probe("string.dump", function() return string.dump end)
probe('("").dump', function() return ("").dump end)
probe("getmetatable('')", function() return getmetatable("") end)
probe("getmetatable('').__index", function() return getmetatable("").__index end)
probe("string.io", function() return string.io end)
probe("require.io", function() return require("io") end)
probe("package.loaded", function() return package.loaded end)
probe("_G._G.io", function() return _G._G.io end)
for k, v in pairs(_G) do
  if type(v) == "table" then
    for _, bad in ipairs { "io", "debug", "package", "execute" } do
      probe(k .. "." .. bad, function() return v[bad] end)
    end
  end
end
return table.concat(found, ",")
