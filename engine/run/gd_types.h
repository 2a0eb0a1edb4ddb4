/* gd_types — what GuardDuty puts in a finding's type and resource type, for
 * the checks of `handles` and of config rules.
 *
 * A finding type is ThreatPurpose:ResourceTypeAffected/ThreatFamilyName
 * .DetectionMechanism!Artifact ("Recon:EC2/PortProbeUnprotectedPort"); the
 * purposes, the affected-resource segments and resource.resourceType values
 * are in gd_types.c as data, from the GuardDuty User Guide ("GuardDuty
 * finding format", "GuardDuty finding types", "Finding details").
 * Static data; nothing allocates. */
#ifndef DEADBOLT_GD_TYPES_H
#define DEADBOLT_GD_TYPES_H

#include <stddef.h>

/* 0 when GuardDuty sends this resource.resourceType; else 1 with what is
 * wrong and the fix in msg. */
int gd_check_resource_type(const char *type, char *msg, size_t len);

/* Looks at the literal parts of a finding_type Lua pattern: an anchored
 * "^Purpose:" must name a threat purpose, a literal ":Resource/" a resource
 * segment GuardDuty uses. 0 when nothing is wrong (or nothing can be told);
 * else 1 with what is wrong and the fix in msg. */
int gd_check_type_pattern(const char *pattern, char *msg, size_t len);

#endif
