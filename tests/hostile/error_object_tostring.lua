-- Trick: raise an error object whose __tostring never returns, so that the
-- host, formatting the error message, runs the script's code unbudgeted.
local evil = setmetatable({}, { __tostring = function() while true do end end,
                                __index = function() while true do end end })
error(evil)
