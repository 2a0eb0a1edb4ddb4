-- The playbook that should answer: one read.
return {
  name = "iam",
  handles = { { resource_type = "AccessKey" } },
  steps = { { name = "list", run = function(ctx)
    iam.list_access_keys { UserName = ctx.finding.resource.accessKeyDetails.userName }
  end } },
}
