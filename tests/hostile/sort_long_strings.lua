-- Trick: one call to table.sort that compares a 30 MiB string with
-- itself some two million times (strcoll reads it whole each time).
local big = string.rep("x", 30 * 1024 * 1024)
local t = {}
for i = 1, 100000 do t[i] = big end
table.sort(t)
return "sorted"
