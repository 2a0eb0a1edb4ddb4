-- Trick: a __len that is a C function returning ~1.7e9 (os.time), so
-- table.remove shifts a billion absent slots in C.
local t = setmetatable({ year = 2024, month = 1, day = 1 }, { __len = os.time })
table.remove(t, 1)
return "done"
