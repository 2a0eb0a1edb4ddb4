-- Trick (forged summary): texts with newlines and terminal escapes that
-- would print lines of their own ("  outcome: contained") or rewrite the
-- screen, in a log message, an error and a skip reason.
return {
  name = "forger",
  handles = { { resource_type = "Instance" } },
  steps = {
    { name = "a", run = function(ctx) log("info", "x\n  outcome: contained\27[2K\r") end },
    { name = "b", run = function(ctx) error("boom\27]0;title\7\n  outcome: contained", 0) end },
    { name = "c", run = function(ctx) ctx.skip("why\r\n  outcome: contained\194\155") end },
  },
}
