-- Writes policies that grant instead of deny. Every step must be refused by
-- the deny-only rule before any request leaves the sandbox.
local ALLOW_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'

return {
  name = "policy_allow_all",
  handles = { { resource_type = "Instance" } },
  steps = {
    { name = "allow_all_on_a_user", run = function()
        iam.put_user_policy { UserName = "victim", PolicyName = "AWSRevokeOlderSessions", PolicyDocument = ALLOW_ALL }
      end },
    { name = "allow_all_on_a_role", run = function()
        iam.put_role_policy { RoleName = "victim-role", PolicyName = "AWSRevokeOlderSessions", PolicyDocument = ALLOW_ALL }
      end },
    { name = "allow_behind_a_deny", run = function()
        iam.put_user_policy { UserName = "victim", PolicyName = "AWSRevokeOlderSessions", PolicyDocument = json.encode {
          Version = "2012-10-17",
          Statement = { { Effect = "Deny", Action = "s3:DeleteBucket", Resource = "*" },
                        { Effect = "Allow", Action = "iam:*", Resource = "*" } } } }
      end },
    { name = "effect_key_twice", run = function()
        iam.put_user_policy { UserName = "victim", PolicyName = "AWSRevokeOlderSessions",
          PolicyDocument = '{"Statement":[{"Effect":"Deny","Effect":"Allow","Action":"*","Resource":"*"}]}' }
      end },
    { name = "malformed_document", run = function()
        iam.put_user_policy { UserName = "victim", PolicyName = "AWSRevokeOlderSessions",
          PolicyDocument = '{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}' }
      end },
  },
}
