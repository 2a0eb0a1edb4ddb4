/* allowlist — the AWS operations a playbook may call, one per line.
 *
 * Deliberately absent:
 *   ec2 RevokeSecurityGroupIngress
 *       the isolation group is made with no ingress and never gets any; the
 *       allow-all group of the two-step move keeps its rule and holds no ENI
 *       once the move is done
 *   ec2 DeleteTags, autoscaling AttachInstances, elb RegisterInstancesWithLoadBalancer,
 *   elbv2 RegisterTargets, s3 DeletePublicAccessBlock, iam DeleteUserPolicy, DeleteRolePolicy
 *       undo-only: they belong to the restore command, not to playbooks
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
	{"ec2", "DescribeInstances", R, NULL, "the instance: volumes, ENIs, profile, tags"},
	{"ec2", "DescribeInstanceAttribute", R, NULL, "protection and shutdown settings, saved for undo"},
	{"ec2", "DescribeSnapshots", R, NULL, "evidence snapshots already taken"},
	{"ec2", "DescribeIamInstanceProfileAssociations", R, NULL, "the profile association to replace"},
	{"ec2", "DescribeNetworkInterfaces", R, NULL, "each ENI's security groups, saved for undo"},
	{"ec2", "DescribeSecurityGroups", R, NULL, "find an existing quarantine group"},
	{"ec2", "DescribeVolumes", R, NULL, "the volumes to snapshot"},
	{"ec2", "GetConsoleScreenshot", R, NULL, "evidence: the console as it was"},
	{"ec2", "ModifyInstanceAttribute", W, "ModifyInstanceAttribute", "termination/stop protection; undo restores saved values"},
	{"ec2", "CreateTags", W, "DeleteTags", "mark the instance and the evidence"},
	{"ec2", "CreateSnapshot", W, NULL, "no undo: evidence is kept"},
	{"ec2", "AssociateIamInstanceProfile", W, "DisassociateIamInstanceProfile", "attach the quarantine profile"},
	{"ec2", "DisassociateIamInstanceProfile", W, "AssociateIamInstanceProfile", "take the instance's credentials away"},
	{"ec2", "ModifyNetworkInterfaceAttribute", W, "ModifyNetworkInterfaceAttribute", "put each ENI in the quarantine group"},
	{"ec2", "CreateSecurityGroup", W, NULL, "no undo: the quarantine group stays, empty and tagged"},
	{"ec2", "AuthorizeSecurityGroupIngress", W, "RevokeSecurityGroupIngress", "the allow-all group of the two-step isolation: untracks connections"},
	{"ec2", "AuthorizeSecurityGroupEgress", W, "RevokeSecurityGroupEgress", "allow only what forensics needs out"},
	{"ec2", "RevokeSecurityGroupEgress", W, "AuthorizeSecurityGroupEgress", "a new group allows all egress: remove it"},
	{"autoscaling", "DescribeAutoScalingInstances", R, NULL, "is the instance in a group"},
	{"autoscaling", "DetachInstances", W, "AttachInstances", "so the group does not replace or kill it"},
	{"elb", "DescribeLoadBalancers", R, NULL, "classic load balancers holding the instance"},
	{"elb", "DescribeInstanceHealth", R, NULL, "is it registered with this one"},
	{"elb", "DeregisterInstancesFromLoadBalancer", W, "RegisterInstancesWithLoadBalancer", "stop its traffic"},
	{"elbv2", "DescribeTargetGroups", R, NULL, "target groups to look in"},
	{"elbv2", "DescribeTargetHealth", R, NULL, "is it a target of this group"},
	{"elbv2", "DeregisterTargets", W, "RegisterTargets", "stop its traffic"},
	{"ssm", "DescribeInstanceInformation", R, NULL, "is the SSM agent online"},
	{"ssm", "GetCommandInvocation", R, NULL, "the forensic commands' output"},
	{"ssm", "SendCommand", W, NULL, "no undo: forensic commands only read"},
	{"s3", "GetPublicAccessBlock", R, NULL, "the configuration to save for undo"},
	{"s3", "GetBucketPolicyStatus", R, NULL, "is the bucket public"},
	{"s3", "HeadObject", R, NULL, "check an evidence object landed"},
	{"s3", "PutPublicAccessBlock", W, "PutPublicAccessBlock", "block public access; undo puts the saved one (or deletes)"},
	{"s3", "PutObject", W, NULL, "no undo: evidence"},
	{"iam", "GetUserPolicy", R, NULL, "an inline policy to save before replacing it"},
	{"iam", "GetRolePolicy", R, NULL, "an inline policy to save before replacing it"},
	{"iam", "ListAccessKeys", R, NULL, "the user's keys"},
	{"iam", "PutUserPolicy", W, "DeleteUserPolicy", "deny the user's sessions issued before now"},
	{"iam", "PutRolePolicy", W, "DeleteRolePolicy", "revoke the role's older sessions"},
	{"iam", "UpdateAccessKey", W, "UpdateAccessKey", "deactivate the key; undo reactivates it"},
	{"sns", "Publish", W, NULL, "no undo: a notification"},
};

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
	return e->why;
}
