-- Turns a bucket's public access block off, wholly or in part. Every step
-- must be refused by the block-all rule.
return {
  name = "public_access_off",
  handles = { { resource_type = "Instance" } },
  steps = {
    { name = "every_block_off", run = function()
        s3.put_public_access_block { Bucket = "victim-data", PublicAccessBlockConfiguration = {
          BlockPublicAcls = false, IgnorePublicAcls = false, BlockPublicPolicy = false, RestrictPublicBuckets = false } }
      end },
    { name = "one_block_left_out", run = function()
        s3.put_public_access_block { Bucket = "victim-data", PublicAccessBlockConfiguration = {
          BlockPublicAcls = true, IgnorePublicAcls = true, BlockPublicPolicy = true } }
      end },
  },
}
