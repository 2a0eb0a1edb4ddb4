-- Trick: string.format and table.concat copy megabytes per call.
local big = string.rep("x", 4 * 1024 * 1024)
local t = {big, big}
while true do
	local s = string.format("%s%s%99d", big, big, 1)
	local c = table.concat(t, ",")
end
