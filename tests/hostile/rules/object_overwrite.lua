-- Writes objects where evidence never goes, or over what is there. Every
-- step must be refused by the evidence-object rule.
local function run_prefix(ctx)
  return string.format("evidence/%s/%s/x/%s/", ctx.account, ctx.region, ctx.id)
end

return {
  name = "object_overwrite",
  handles = { { resource_type = "Instance" } },
  steps = {
    { name = "another_bucket", run = function(ctx)
        s3.put_object { Bucket = "victim-data", Key = "ledger.csv", Body = "gone", IfNoneMatch = "*" }
      end },
    { name = "outside_the_run_prefix", run = function(ctx)
        s3.put_object { Bucket = ctx.env.ARTIFACT_BUCKET, Key = "journal/older-run.jsonl", Body = "forged", IfNoneMatch = "*" }
      end },
    { name = "another_findings_prefix", run = function(ctx)
        s3.put_object { Bucket = ctx.env.ARTIFACT_BUCKET, IfNoneMatch = "*", Body = "forged",
          Key = string.format("evidence/%s/%s/x/%s/manifest.json", ctx.account, ctx.region, "0000other") }
      end },
    { name = "dot_segments", run = function(ctx)
        s3.put_object { Bucket = ctx.env.ARTIFACT_BUCKET, Key = run_prefix(ctx) .. "../../../journal/x", Body = "x", IfNoneMatch = "*" }
      end },
    { name = "overwrite_without_if_none_match", run = function(ctx)
        s3.put_object { Bucket = ctx.env.ARTIFACT_BUCKET, Key = run_prefix(ctx) .. "manifest.json", Body = "x" }
      end },
    { name = "made_public", run = function(ctx)
        s3.put_object { Bucket = ctx.env.ARTIFACT_BUCKET, Key = run_prefix(ctx) .. "m.json", Body = "x",
                        IfNoneMatch = "*", ACL = "public-read" }
      end },
  },
}
