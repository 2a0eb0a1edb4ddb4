-- Test playbook: non-critical steps fail, the others still run (partial).
return {
  name = "partial",
  handles = { { finding_type = "^Impact:EC2/Test.Partial", resource_type = "Instance" } },
  steps = {
    { name = "first",
      run = function(ctx)
        ctx.save("n", 1)
        log("warn", "finding text can carry \27[31mterminal escapes\27[0m\n  outcome: contained (forged)")
      end },
    { name = "boom", run = function(ctx) error("boom") end },
    { name = "write_finding",
      why = "the finding is read-only",
      run = function(ctx) ctx.finding.id = "changed" end },
    { name = "raw_write_finding",
      run = function(ctx) rawset(ctx.finding, "id", "changed") end },
    { name = "check_finding",
      run = function(ctx)
        assert(ctx.finding.id == ctx.id, "the finding changed")
        ctx.save("statuses", ctx.steps)
      end },
  },
}
