-- Trick: stop the garbage collector so memory is never reclaimed, or drive
-- full collections in a loop to burn the host's time.
assert(type(collectgarbage("count")) == "number")
collectgarbage("stop")
return "the collector was stopped"
