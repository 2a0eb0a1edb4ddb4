/* digest — SHA-256 as lowercase hex, for playbook hashes and for values too
 * long to print whole. */
#ifndef DEADBOLT_DIGEST_H
#define DEADBOLT_DIGEST_H

#include <stddef.h>

/* Lowercase hex SHA-256 of n bytes; out needs 65 bytes ("" on failure). */
void digest_sha256_hex(const void *data, size_t n, char *out);

#endif
