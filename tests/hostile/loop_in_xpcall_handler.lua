-- Trick: catch the budget error with xpcall whose message handler loops
-- (the handler runs before the stack unwinds) and then carry on.
xpcall(function() while true do end end, function(e) while true do end end)
return "swallowed"
