-- check: calls to operations that are not on the allow-list
-- (a comment is not a call: ec2.terminate_instances{ InstanceIds = { "i-1" } })
local note = "iam.delete_user{ UserName = 'x' } in a string is not a call either"
return {
  name = "forbidden",
  handles = { { resource_type = "AccessKey" } },
  steps = {
    { name = "allowed", run = function(ctx) iam.list_access_keys{ UserName = "u" } end },
    { name = "terminate",
      run = function(ctx)
        ec2.terminate_instances{ InstanceIds = { "i-0123456789abcdef0" } }
      end },
    { name = "delete_user", run = function(ctx) iam.delete_user({ UserName = "u" }) end },
  },
}
