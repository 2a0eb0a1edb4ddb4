-- Trick: fill memory with tables until the host runs out.
local t = {}
for i = 1, math.huge do t[i] = { i } end
