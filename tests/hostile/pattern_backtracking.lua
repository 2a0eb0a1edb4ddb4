-- Trick: a pattern made to backtrack for hours; Lua's matcher is C code that
-- the instruction hook never interrupts.
local subject = string.rep("a", 100000)
return subject:find(string.rep("a*", 30) .. "b")
