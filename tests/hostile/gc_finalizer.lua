-- Trick: a __gc finalizer that never returns. Lua runs finalizers with
-- hooks turned off, so no budget could stop it: the host would hang in a
-- collection or in lua_close.
setmetatable({}, { __gc = function() while true do end end })
return "finalizer planted"
