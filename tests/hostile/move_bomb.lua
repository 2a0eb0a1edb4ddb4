-- Trick: table.move over a 2^60 range of absent elements: a C loop with no
-- allocation and no instruction.
table.move({}, 1, 1 << 60, 2)
return "done"
