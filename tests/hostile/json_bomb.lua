-- Trick: a table shared 2^40 times over: tiny in memory, a terabyte of JSON
-- (lua-cjson builds it with malloc, outside the memory cap).
local t = { "x" }
for i = 1, 40 do t = { t, t } end
return json.encode(t)
