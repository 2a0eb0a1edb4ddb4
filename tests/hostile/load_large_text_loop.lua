-- Trick: load() of an 8 MiB chunk (a comment: compiles to nothing, but
-- the lexer reads every byte), in a loop.
local src = "--" .. string.rep("x", 8 * 1024 * 1024)
while true do load(src) end
