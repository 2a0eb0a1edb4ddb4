-- Trick: a table that holds one sub-table 20,000 times, encoded again and
-- again: each encode walks 180,000 values.
local leaf = {1, 2, 3, 4, 5, 6, 7, 8}
local t = {}
for i = 1, 20000 do t[i] = leaf end
while true do json.encode(t) end
