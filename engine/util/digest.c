/* digest — see digest.h. */
#include "digest.h"

#include <stdio.h>

#include <openssl/evp.h>

void digest_sha256_hex(const void *data, size_t n, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	out[0] = '\0';
	if (EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) != 1)
		return;
	for (unsigned int i = 0; i < len && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}
