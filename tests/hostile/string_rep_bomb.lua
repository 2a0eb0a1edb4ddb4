-- Trick: one call that asks for a gigabyte, inside pcall.
local ok = pcall(string.rep, "x", 1 << 30)
return "swallowed"
