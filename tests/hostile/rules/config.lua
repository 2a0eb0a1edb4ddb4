-- The configuration the hostile playbooks run with: the sandbox reads the
-- forensic document and commands and the policy name from here.
return {
  forensics = { document = "AWS-RunShellScript", commands = { "uname -a" } },
  iam = { revoke_policy_name = "AWSRevokeOlderSessions" },
}
