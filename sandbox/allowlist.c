/* allowlist — the AWS operations a playbook may call, one per line: service,
 * operation, read or write, the undo, why a playbook needs it; and for every
 * write the rule its arguments must follow, with what the rule allows and
 * why. The rules are what make "contain, destroy nothing" hold whatever a
 * playbook says: rules.c checks them in the sandbox before the call leaves
 * it, against the run's facts the host hands over (sandbox_set_run), and a
 * refused call raises "<op> refused by rule <name>: <why>". Restore mode
 * (engine/run/restore.c through sandbox_host_call) is the one mode in which
 * the rules that only tighten let a write loosen, and only back to the state
 * the journal recorded before the containment (rules.c says how per rule).
 *
 * Deliberately absent:
 *   ec2 RevokeSecurityGroupIngress
 *       the isolation group is made with no ingress and never gets any; the
 *       allow-all group of the two-step move keeps its rule and holds no ENI
 *       once the move is done
 *   ec2 DeleteTags, autoscaling AttachInstances, elb RegisterInstancesWithLoadBalancer,
 *   elbv2 RegisterTargets, s3 DeletePublicAccessBlock, s3control DeletePublicAccessBlock,
 *   iam DeleteUserPolicy, DeleteRolePolicy
 *       undo-only: they belong to the restore command, not to playbooks
 *       (undo_entries below: restore mode only, each with its rule)
 *   anything that terminates or deletes (TerminateInstances, DeleteSnapshot,
 *   DeleteSecurityGroup, DeleteAccessKey, DeleteObject ...)
 *       deadbolt destroys nothing, so a false positive can be restored
 *   sts  credentials are the host's business */
#include "allowlist.h"

#include <string.h>

#include "sandbox_int.h"

#define R ALLOW_READ
#define W ALLOW_WRITE

static const allow_entry entries[] = {
	{"ec2", "DescribeInstances", R, NULL, "the instance: volumes, ENIs, profile, tags", RULE_NONE, NULL},
	{"ec2", "DescribeInstanceAttribute", R, NULL, "protection and shutdown settings, saved for undo", RULE_NONE, NULL},
	{"ec2", "DescribeSnapshots", R, NULL, "evidence snapshots already taken", RULE_NONE, NULL},
	{"ec2", "DescribeIamInstanceProfileAssociations", R, NULL, "the profile association to replace", RULE_NONE, NULL},
	{"ec2", "DescribeNetworkInterfaces", R, NULL, "each ENI's security groups, saved for undo", RULE_NONE, NULL},
	{"ec2", "DescribeSecurityGroups", R, NULL, "find an existing quarantine group", RULE_NONE, NULL},
	{"ec2", "DescribeVolumes", R, NULL, "the volumes to snapshot", RULE_NONE, NULL},
	{"ec2", "GetConsoleScreenshot", R, NULL, "evidence: the console as it was", RULE_NONE, NULL},
	{"ec2", "ModifyInstanceAttribute", W, "ModifyInstanceAttribute", "termination/stop protection; undo restores saved values",
	 RULE_PROTECT_ONLY, "only switches protections on (termination, stop, shutdown stop, volumes kept): never user data, type or groups"},
	{"ec2", "CreateTags", W, "DeleteTags", "mark the instance and the evidence",
	 RULE_NO_GROUP_TAG, "any tag but deadbolt:group, so no group can pass for one deadbolt made"},
	{"ec2", "CreateSnapshot", W, NULL, "no undo: evidence is kept",
	 RULE_NO_GROUP_TAG, "a copy, destroys nothing; its tags never deadbolt:group"},
	{"ec2", "AssociateIamInstanceProfile", W, "DisassociateIamInstanceProfile", "attach the quarantine profile",
	 RULE_QUARANTINE_PROFILE, "only QUARANTINE_PROFILE_ARN: any other profile could hand the instance more power"},
	{"ec2", "DisassociateIamInstanceProfile", W, "AssociateIamInstanceProfile", "take the instance's credentials away",
	 RULE_ANY, "only takes credentials away"},
	{"ec2", "ModifyNetworkInterfaceAttribute", W, "ModifyNetworkInterfaceAttribute", "put each ENI in the quarantine group",
	 RULE_ENI_OWN_GROUPS, "only into groups deadbolt made (deadbolt:group tag), or back to exactly the groups the run first saw on it; left in the allow-all group past a step, the sandbox moves it back"},
	{"ec2", "CreateSecurityGroup", W, NULL, "no undo: the quarantine group stays, empty and tagged",
	 RULE_NEW_GROUP, "a new group may carry deadbolt:group = isolation or untrack: how the rules below know deadbolt's groups"},
	{"ec2", "AuthorizeSecurityGroupIngress", W, "RevokeSecurityGroupIngress", "the allow-all group of the two-step isolation: untracks connections",
	 RULE_INGRESS_OWN_GROUP, "only on deadbolt's untrack (allow-all) group: no other group is ever opened"},
	{"ec2", "AuthorizeSecurityGroupEgress", W, "RevokeSecurityGroupEgress", "allow only what forensics needs out",
	 RULE_EGRESS_OWN_GROUP, "deadbolt's groups only; the isolation group only tcp/443 to the endpoints config.forensics.egress names, never an address range"},
	{"ec2", "RevokeSecurityGroupEgress", W, "AuthorizeSecurityGroupEgress", "a new group allows all egress: remove it",
	 RULE_REVOKE_OWN_GROUP, "only on deadbolt's groups: no one else's group loses a rule"},
	{"autoscaling", "DescribeAutoScalingInstances", R, NULL, "is the instance in a group", RULE_NONE, NULL},
	{"autoscaling", "DetachInstances", W, "AttachInstances", "so the group does not replace or kill it",
	 RULE_KEEP_CAPACITY, "ShouldDecrementDesiredCapacity false: the group keeps its size"},
	{"elb", "DescribeLoadBalancers", R, NULL, "classic load balancers holding the instance", RULE_NONE, NULL},
	{"elb", "DescribeInstanceHealth", R, NULL, "is it registered with this one", RULE_NONE, NULL},
	{"elb", "DeregisterInstancesFromLoadBalancer", W, "RegisterInstancesWithLoadBalancer", "stop its traffic",
	 RULE_ANY, "only stops traffic; the registrations are saved for undo"},
	{"elbv2", "DescribeTargetGroups", R, NULL, "target groups to look in", RULE_NONE, NULL},
	{"elbv2", "DescribeTargetHealth", R, NULL, "is it a target of this group", RULE_NONE, NULL},
	{"elbv2", "DeregisterTargets", W, "RegisterTargets", "stop its traffic",
	 RULE_ANY, "only stops traffic; the registrations are saved for undo"},
	{"ssm", "DescribeInstanceInformation", R, NULL, "is the SSM agent online", RULE_NONE, NULL},
	{"ssm", "GetCommandInvocation", R, NULL, "the forensic commands' output", RULE_NONE, NULL},
	{"ssm", "SendCommand", W, NULL, "no undo: forensic commands only read",
	 RULE_CONFIG_COMMANDS, "document and commands as config.lua (loaded by the host) lists them, output under the run's prefix or the one instance's forensics/<role id>:<instance id>/ prefix: no text of a finding reaches a shell"},
	{"s3", "GetPublicAccessBlock", R, NULL, "the configuration to save for undo", RULE_NONE, NULL},
	{"s3", "GetBucketPolicyStatus", R, NULL, "is the bucket public", RULE_NONE, NULL},
	{"s3", "HeadObject", R, NULL, "check an evidence object landed", RULE_NONE, NULL},
	{"s3", "PutPublicAccessBlock", W, "PutPublicAccessBlock", "block public access; undo puts the saved one (or deletes)",
	 RULE_BLOCK_ALL, "all four flags true: a block is only ever tightened (restore mode excepted)"},
	{"s3", "PutObject", W, NULL, "no undo: evidence",
	 RULE_EVIDENCE_OBJECT, "ARTIFACT_BUCKET, key under evidence/<account>/<region>/<resource>/<finding id>/ (or a lock under locks/<account>/<region>/<resource>/), IfNoneMatch \"*\": never another object, never overwritten"},
	{"s3control", "GetPublicAccessBlock", R, NULL, "the account's block, saved for undo", RULE_NONE, NULL},
	{"s3control", "PutPublicAccessBlock", W, "PutPublicAccessBlock", "turn the account's block back on; undo puts the saved one (or deletes)",
	 RULE_ACCOUNT_BLOCK_ALL, "AccountId is the run's account, all four flags true: only this account's block, only ever tightened (restore mode excepted)"},
	{"iam", "GetUser", R, NULL, "does the user still exist: a dry run decides as the live run", RULE_NONE, NULL},
	{"iam", "GetRole", R, NULL, "does the role still exist: a dry run decides as the live run", RULE_NONE, NULL},
	{"iam", "GetUserPolicy", R, NULL, "an inline policy to save before replacing it", RULE_NONE, NULL},
	{"iam", "GetRolePolicy", R, NULL, "an inline policy to save before replacing it", RULE_NONE, NULL},
	{"iam", "ListAccessKeys", R, NULL, "the user's keys", RULE_NONE, NULL},
	{"iam", "PutUserPolicy", W, "DeleteUserPolicy", "deny the user's sessions issued before now",
	 RULE_DENY_ONLY, "every statement's Effect is Deny, the name is config.iam.revoke_policy_name: narrows access, never widens it"},
	{"iam", "PutRolePolicy", W, "DeleteRolePolicy", "revoke the role's older sessions",
	 RULE_DENY_ONLY, "every statement's Effect is Deny, the name is config.iam.revoke_policy_name: narrows access, never widens it"},
	{"iam", "UpdateAccessKey", W, "UpdateAccessKey", "deactivate the key; undo reactivates it",
	 RULE_DEACTIVATE_ONLY, "Status Inactive only (restore mode excepted)"},
	{"sns", "Publish", W, NULL, "no undo: a notification",
	 RULE_OWN_TOPIC, "only NOTIFICATION_TOPIC_ARN: the finding's details go nowhere else"},
};

/* The undo-only writes: no playbook method; restore mode only (every rule
 * below refuses outside it). */
static const allow_entry undo_entries[] = {
	{"ec2", "DeleteTags", W, NULL, "undo of CreateTags: a mark deadbolt added",
	 RULE_UNDO_TAG, "only a tag the journal recorded as absent before, with the value deadbolt set; never deadbolt:group"},
	{"ec2", "RevokeSecurityGroupIngress", W, NULL, "undo of AuthorizeSecurityGroupIngress",
	 RULE_REVOKE_OWN_GROUP, "only on deadbolt's groups: no one else's group loses a rule"},
	{"ec2", "DeleteSecurityGroup", W, NULL, "restore --remove-groups: deadbolt's own groups",
	 RULE_DELETE_OWN_GROUP, "only a group deadbolt created (deadbolt:group tag) that the journal says the run created"},
	{"autoscaling", "AttachInstances", W, NULL, "undo of DetachInstances",
	 RULE_UNDO_MEMBER, "only into the group the journal recorded the instance in"},
	{"elb", "RegisterInstancesWithLoadBalancer", W, NULL, "undo of DeregisterInstancesFromLoadBalancer",
	 RULE_UNDO_MEMBER, "only with the load balancer the journal recorded the instance in"},
	{"elbv2", "RegisterTargets", W, NULL, "undo of DeregisterTargets",
	 RULE_UNDO_MEMBER, "only in the target group, on the port, the journal recorded"},
	{"s3", "DeletePublicAccessBlock", W, NULL, "undo of PutPublicAccessBlock where there was none",
	 RULE_UNDO_NO_BLOCK, "only a bucket the journal recorded with no block before"},
	{"s3control", "DeletePublicAccessBlock", W, NULL, "undo of the account's PutPublicAccessBlock where there was none",
	 RULE_UNDO_NO_BLOCK, "only an account the journal recorded with no block before"},
	{"iam", "DeleteUserPolicy", W, NULL, "undo of PutUserPolicy where there was none",
	 RULE_UNDO_POLICY, "only config.iam.revoke_policy_name, recorded as absent before"},
	{"iam", "DeleteRolePolicy", W, NULL, "undo of PutRolePolicy where there was none",
	 RULE_UNDO_POLICY, "only config.iam.revoke_policy_name, recorded as absent before"},
};

size_t allowlist_undo_count(void)
{
	return sizeof(undo_entries) / sizeof(undo_entries[0]);
}

const allow_entry *allowlist_undo_at(size_t i)
{
	return i < allowlist_undo_count() ? &undo_entries[i] : NULL;
}

const allow_entry *allowlist_undo_find(const char *service, const char *operation)
{
	for (size_t i = 0; service && operation && i < allowlist_undo_count(); i++)
		if (strcmp(undo_entries[i].service, service) == 0 &&
		    strcmp(undo_entries[i].operation, operation) == 0)
			return &undo_entries[i];
	return NULL;
}

size_t allowlist_count(void)
{
	return sizeof(entries) / sizeof(entries[0]);
}

const allow_entry *allowlist_at(size_t i)
{
	return i < allowlist_count() ? &entries[i] : NULL;
}

const allow_entry *allowlist_find(const char *service, const char *operation)
{
	char snake[SANDBOX_NAME_MAX];
	size_t i;
	for (i = 0; service && operation && i < allowlist_count(); i++) {
		if (strcmp(entries[i].service, service) != 0)
			continue;
		if (strcmp(entries[i].operation, operation) == 0)
			return &entries[i];
		if (sandbox_snake_name(entries[i].operation, snake, sizeof(snake)) == 0 &&
		    strcmp(snake, operation) == 0)
			return &entries[i];
	}
	return NULL;
}

const char *allowlist_rule_text(const allow_entry *e)
{
	return e->rule_why ? e->rule_why : e->why;
}
