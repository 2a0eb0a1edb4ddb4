-- Trick: string.rep under the memory cap, again and again: each call
-- allocates and fills 4 MiB in C for ten charged instructions.
while true do local s = string.rep("x", 4 * 1024 * 1024) end
