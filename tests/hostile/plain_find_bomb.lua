-- Trick: a plain find whose needle almost matches everywhere: n * m byte
-- comparisons in memcmp.
local hay = string.rep("a", 1 << 22)
local needle = string.rep("a", 1 << 21) .. "b"
return hay:find(needle, 1, true)
