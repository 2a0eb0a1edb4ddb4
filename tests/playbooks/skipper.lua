-- Test playbook: ctx.skip ends the run as skipped, even when caught.
return {
  name = "skipper",
  handles = { { resource_type = "S3Bucket" } },
  steps = {
    { name = "exempt",
      run = function(ctx)
        pcall(ctx.skip, "bucket is exempt")
        ctx.save("after_skip", true)
      end },
    { name = "block", run = function(ctx) error("ran after ctx.skip") end },
  },
}
