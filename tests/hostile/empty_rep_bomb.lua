-- Trick: string.rep of an empty string loops n times in C and allocates
-- nothing: neither the memory cap nor the hook would see it.
local s = string.rep("", 1e15) .. ("").rep("", 1e15, "")
return tostring(#s)
