/* lambda_glibc_compat — linked into the Lambda bootstrap only, by
 * tools/package-lambda.sh. Owner: the Lambda engineer.
 *
 * Debian 12's libexpat calls arc4random_buf, which glibc gained in 2.36;
 * Amazon Linux 2023 (provided.al2023) has glibc 2.34, so a binary that takes
 * it from glibc does not start there. Defined here, inside the binary, it
 * satisfies the static expat's reference and the package needs no GLIBC_2.36
 * symbol. Same contract as glibc's: n bytes from the kernel's CSPRNG, never
 * a failure (abort if the kernel refuses, as glibc does). */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/types.h>

void arc4random_buf(void *buf, size_t n)
{
	unsigned char *p = buf;
	ssize_t got;

	while (n > 0) {
		got = getrandom(p, n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			abort();
		}
		p += got;
		n -= (size_t)got;
	}
}
