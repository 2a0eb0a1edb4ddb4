-- config — every setting of the three playbooks, in one table.
--
-- Edit this file to change how deadbolt responds; the playbooks read nothing
-- else. Deployment settings that differ per account (the artifact bucket, the
-- quarantine instance profile, the notification topic) are not here: they
-- come from the environment as ctx.env (see docs/playbook-api.md).
--
-- Response rules: each playbook picks its response with the first rule that
-- matches the finding, else `default`. A rule may name
--   finding_type   a Lua pattern on the finding's type ("^Recon:EC2/")
--   resource_role  "TARGET" or "ACTOR" (service.resourceRole)
--   min_severity, max_severity   inclusive bounds on the severity
-- and says `response`:
--   "contain"   the full runbook of the playbook
--   "evidence"  EC2 only: collect evidence (records, screenshot, snapshots,
--               forensic commands when SSM can already reach the instance),
--               tag the instance, change nothing else
--   "notify"    only the notification
-- Every field a rule names must match. Examples:
--   { finding_type = "^Recon:EC2/PortProbe", resource_role = "TARGET", response = "notify" },
--   { max_severity = 3.9, response = "evidence" },

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

    -- The groups of isolation, found again by name (security group names are
    -- unique in a VPC, so two runs cannot make two): the isolation group,
    -- one per instance and VPC (%s is the instance id), and the allow-all
    -- group of the two-step move, one per VPC, shared by every instance
    -- isolated there (%s is the VPC id).
    isolation_group_name = "deadbolt-isolation-%s",
    untrack_group_name = "deadbolt-untrack-%s",
    -- Tag on both groups; value: the instance id (isolation group), the VPC
    -- id (allow-all group).
    isolation_tag = "deadbolt:isolation-for",

    -- The two-step move. Each ENI goes first into the allow-all (untrack)
    -- group, so that AWS stops tracking its open connections, then into the
    -- isolation group, which cuts them. untrack_dwell_seconds is how long the
    -- ENIs stay in the allow-all group between the two moves (all ENIs
    -- together, one wait): AWS documents that a change of an ENI's groups
    -- takes effect after a small propagation delay and gives no figure, so
    -- this is not measured; 1 s is a default that keeps the open moment
    -- short.
    untrack_dwell_seconds = 1,
    -- No ENI may stay in the allow-all group: a second move that fails is
    -- tried again, each round with the client's usual retries, up to
    -- second_move_rounds rounds, second_move_pause_seconds apart; after that
    -- the ENI is moved back to its original groups, the journal and an
    -- alert on the notification topic say so, and the run fails.
    second_move_rounds = 3,
    second_move_pause_seconds = 1,

    -- The console screenshot is asked for beside isolation with one attempt
    -- and this deadline (seconds), so that a slow or failing screenshot
    -- never delays isolation. After a transient failure (5xx, throttling,
    -- no answer in time) it is asked for again after isolation, beside the
    -- other evidence, with two more attempts (three in all), when
    -- retry_after_isolation is true. Left out: 2 s, no retry.
    screenshot = { deadline_seconds = 2, retry_after_isolation = true },

    -- One run at a time per instance (playbooks/lib/lock.lua): a lock object
    -- in the artifact bucket, written only if absent (S3 If-None-Match). A
    -- run waits at most wait_seconds for another run on the same instance,
    -- then goes on without the lock, saying so. window_seconds must be at
    -- least the longest run (the Lambda timeout, 120 s): a lock a dead run
    -- left expires two windows after it was taken.
    lock = { enabled = true, window_seconds = 150, wait_seconds = 60, poll_seconds = 1 },

    snapshots = true,
    detach_from_auto_scaling = true,
    deregister_from_load_balancers = true,
    remove_instance_profile = true,
  },

  -- Forensic commands over SSM (EC2 "contain" and "evidence").
  forensics = {
    enabled = true,
    -- The document and the commands are the only ones the sandbox lets
    -- SendCommand send: it reads them from this file itself (not from a
    -- playbook's copy) and compares each command whole, so no text of a
    -- finding can reach the instance's shell.
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
    -- revoked when the commands end. It may name only the security group of
    -- the VPC's interface endpoints for ssm, ssmmessages and ec2messages, and
    -- S3's gateway endpoint prefix list: never an address range, so the
    -- isolated instance is never open to the internet (the sandbox refuses
    -- any other egress on the isolation group). Left empty, forensics on a
    -- contained instance is skipped, with the reason journaled and notified:
    --   { UserIdGroupPairs = { { GroupId = "sg-<the endpoints' group>" } },
    --     PrefixListIds = { { PrefixListId = "pl-<S3's prefix list>" } } }
    egress = {},
    egress_description = "deadbolt: SSM agent while forensic commands run",
  },

  -- Evidence objects in the artifact bucket (ARTIFACT_BUCKET).
  evidence = {
    -- {account}, {region}, {resource}, {finding} are filled in. One prefix
    -- per finding: a re-delivered finding finds its evidence there and does
    -- not overwrite it. The sandbox accepts objects only under
    -- evidence/<account>/<region>/<one segment>/<finding id>/, as this
    -- layout writes them, and never over an existing object.
    prefix = "evidence/{account}/{region}/{resource}/{finding}/",
    manifest = "manifest.json",
  },

  s3 = {
    rules = {},
    default = "contain",
    -- An S3 finding whose resource.accessKeyDetails names an IAM user or an
    -- assumed role also gets the IAM runbook for that principal (the
    -- settings of iam below: key deactivated, older sessions revoked),
    -- from this severity up. false: the bucket only.
    contain_principal = true,
    principal_min_severity = 7,
    -- Policy:S3/AccountBlockPublicAccessDisabled: turn the account's S3
    -- Block Public Access back on, all four settings (what was there is
    -- saved for restore).
    block_account_public_access = true,
  },

  iam = {
    rules = {},
    default = "contain",
    -- The inline policy that denies every session issued before the response
    -- (the name the IAM console's "Revoke active sessions" uses).
    -- The only inline policy name the sandbox lets a playbook write.
    revoke_policy_name = "AWSRevokeOlderSessions",
    revoke_sessions = true,
    -- Deactivate (never delete) the long-term key named in the finding.
    deactivate_access_key = true,
    -- Deactivate (never delete) the user's other keys created on or after
    -- the finding's service.eventFirstSeen: keys the attacker could have
    -- made. Their state before is saved for restore.
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
