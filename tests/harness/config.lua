-- The configuration the test suite runs the shipped playbooks with.
--
-- tests/harness/playbooks.py copies playbooks/ and puts this file in the
-- copy as config.lua: the suite's expectations (which steps run, the tags,
-- the forensic commands, the policy name ...) are written against these
-- settings, not against playbooks/config.lua, which is the team's to tune.
-- When a playbook gains a setting, add it here as well as there: the two
-- files keep the same keys, values may differ (tests/unit/test_check.c
-- fails on a key in one and not the other, and checks both against the
-- schema). The meaning of every setting is in playbooks/config.lua.

return {
  ec2 = {
    -- By default every EC2 finding is contained: that is deadbolt's promise.
    rules = {},
    default = "contain",

    -- An instance carrying this tag (key = value) is left alone, journaled.
    exempt_tag = { key = "deadbolt:exempt", value = "true" },

    -- The tags put on a contained instance. Set a key to false to leave it out.
    tags = {
      status = "deadbolt:status",            -- "contained" or "evidence-collected"
      contained_at = "deadbolt:contained-at", -- ISO-8601 UTC time of the response
      finding_id = "deadbolt:finding-id",
      finding_type = "deadbolt:finding-type",
      source = "deadbolt:source",            -- the value below
    },
    source = "GuardDuty",

    -- Protections: each true means "set it"; false leaves it as it is.
    termination_protection = true,
    stop_protection = true,
    shutdown_behavior_stop = true,
    keep_volumes_on_termination = true,      -- DeleteOnTermination = false on EBS volumes

    -- The isolation group per instance and VPC (%s: the instance id), the
    -- allow-all group per VPC (%s: the VPC id), found again by name.
    isolation_group_name = "deadbolt-isolation-%s",
    untrack_group_name = "deadbolt-untrack-%s",
    isolation_tag = "deadbolt:isolation-for",  -- value: the instance id, or the VPC id
    -- The two-step move: the wait in the allow-all group, and the rounds of
    -- a second move that fails before the ENI goes back to its own groups.
    untrack_dwell_seconds = 1,
    second_move_rounds = 3,
    second_move_pause_seconds = 1,

    -- The console screenshot beside isolation: one attempt, this deadline.
    screenshot = { deadline_seconds = 2, retry_after_isolation = true },

    -- One run at a time per instance (lib/lock.lua).
    lock = { enabled = true, window_seconds = 150, wait_seconds = 60, poll_seconds = 1 },

    snapshots = true,
    detach_from_auto_scaling = true,
    deregister_from_load_balancers = true,
    remove_instance_profile = true,
  },

  -- Forensic commands over SSM (EC2 "contain" and "evidence").
  forensics = {
    enabled = true,
    document = "AWS-RunShellScript",
    commands = { "uname -a", "whoami", "netstat -ap", "lsof", "ps auxww", "last" },
    execution_timeout_seconds = 60,     -- on the instance
    -- Bounded waits (sleep counts against the run's wall clock; the Lambda
    -- timeout is 120 s): for the agent to come online with the quarantine
    -- profile, then for the commands to finish.
    agent_wait_seconds = 30,
    command_wait_seconds = 45,
    poll_seconds = 2,
    -- While the commands run, the isolation group gets this one egress rule
    -- (boto3's IpPermissions shape, without the protocol and ports: always
    -- tcp/443) so the agent can reach SSM and write its output to S3; it is
    -- revoked when the commands end. Only endpoint groups and prefix lists
    -- (the sandbox refuses an address range); none here: a test that runs
    -- forensics on a contained instance names its world's endpoint group
    -- (playbook_cases.endpoint_config).
    egress = {},
    egress_description = "deadbolt: SSM agent while forensic commands run",
  },

  -- Evidence objects in the artifact bucket (ARTIFACT_BUCKET).
  evidence = {
    -- {account}, {region}, {resource}, {finding} are filled in. One prefix
    -- per finding: a re-delivered finding finds its evidence there and does
    -- not overwrite it.
    prefix = "evidence/{account}/{region}/{resource}/{finding}/",
    manifest = "manifest.json",
  },

  s3 = {
    rules = {},
    default = "contain",
    contain_principal = true,
    principal_min_severity = 7,
    block_account_public_access = true,
  },

  iam = {
    rules = {},
    default = "contain",
    -- The inline policy that denies every session issued before the response
    -- (the name the IAM console's "Revoke active sessions" uses).
    revoke_policy_name = "AWSRevokeOlderSessions",
    revoke_sessions = true,
    -- Deactivate (never delete) the long-term key named in the finding.
    deactivate_access_key = true,
    deactivate_new_access_keys = true,
    -- Roles IAM does not let anyone change (service-linked roles; IAM
    -- Identity Center's roles, whose sessions are revoked there): journaled
    -- and notified, not touched. Lua patterns on the role name.
    protected_roles = { "^AWSServiceRoleFor", "^AWSReservedSSO_" },
  },

  -- Findings of other accounts (GuardDuty's delegated administrator sees its
  -- members'). Read by deadbolt itself, before a playbook runs; the
  -- playbooks never see it. A finding of another account than deadbolt's own
  -- is answered under this role, assumed in that account
  -- (arn:aws:iam::<account>:role/<role_name>, template-member.yaml); every
  -- call of that run is made with its credentials. Without role_name (or
  -- when the role cannot be assumed) such a finding fails: nothing is
  -- changed there, and the notification says so. See docs/accounts.md.
  accounts = {
    role_name = "deadbolt-response",
    -- external_id = "...",             -- when the member role requires one
    session_seconds = 900,              -- 900 to 43200 (the role's maximum)
    -- The quarantine instance profile in a member account (its own: an
    -- instance can only get a profile of its account).
    quarantine_profile_name = "deadbolt-quarantine",
  },

  notify = {
    subject_prefix = "deadbolt",
  },
}
