-- Trick: utf8.len and tonumber scan a 16 MiB string in C and allocate
-- nothing: neither the allocator nor a wrapper sees the work.
local big = string.rep("7", 16 * 1024 * 1024)
while true do local n = utf8.len(big) local m = tonumber(big) end
