-- Trick (budget): a finding_type pattern that backtracks for hours on a
-- long run of one letter; the host must match it with the metered matcher.
-- It is cheap on the probe `deadbolt check` tries, so the file loads.
return {
  name = "costly",
  handles = { { finding_type = "^" .. string.rep("a*", 20) .. "b" } },
  steps = { { name = "never", run = function(ctx) error("routed by a costly pattern") end } },
}
