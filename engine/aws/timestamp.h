/* timestamp — the times AWS answers carry, read and written without libc's
 * time zone machinery (no gmtime, timegm or strptime; nothing reads TZ).
 *
 * Parses, the way botocore's parse_timestamp does:
 *   - epoch seconds ("1764270245", "1764270245.123"),
 *   - ISO 8601, extended or basic ("2026-11-27T19:04:05.123Z",
 *     "20261127T190405Z", "2026-11-27", "+01:00"/"-0130"/"+01" zones; no zone
 *     is UTC),
 *   - RFC 822 / HTTP-date ("Fri, 27 Nov 2026 19:04:05 GMT", weekday optional).
 * Years 1..9999 (Python's datetime); milliseconds kept, finer digits dropped.
 * Prints one form: "2026-11-27T19:04:05.000Z" (codec.h's timestamp strings).
 * Also the proleptic Gregorian calendar arithmetic, for parsers with their
 * own, stricter grammar (creds.c, codec_build.c).
 *
 * codec_decode.c is the main user. Ownership: nothing here
 * allocates; callers own every buffer they pass, and inputs are (pointer,
 * length) spans that need no NUL. */
#ifndef DEADBOLT_TIMESTAMP_H
#define DEADBOLT_TIMESTAMP_H

#include <stddef.h>
#include <stdint.h>

#define TIMESTAMP_TEXT_MAX 40 /* timestamp_format's buffer, NUL included */

typedef struct timestamp_value {
	int64_t sec; /* seconds since the epoch, UTC */
	int ms;      /* 0..999 */
} timestamp_value;

/* Days since 1970-01-01 of y-m-d (m 1..12), and back (H. Hinnant). */
int64_t timestamp_days_from_civil(int64_t y, int m, int d);
void timestamp_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
/* Days in month m (1..12) of year y. */
int timestamp_days_in_month(int64_t y, int m);

/* Each returns 0 and fills out, or -1 when [s, end) is not wholly that form
 * (no blanks around it) or is outside years 1..9999. */
int timestamp_parse_iso8601(const char *s, const char *end, timestamp_value *out);
int timestamp_parse_rfc822(const char *s, const char *end, timestamp_value *out);
/* Epoch seconds rounded as datetime.fromtimestamp does (to the microsecond,
 * half to even; then milliseconds truncated). -1 outside years 1..9999. */
int timestamp_from_epoch(double v, timestamp_value *out);
/* botocore's parse_timestamp: s[0..len), blanks trimmed, as an epoch number,
 * else ISO 8601, else RFC 822. 0, or -1 when none fits. */
int timestamp_parse_text(const char *s, size_t len, timestamp_value *out);

/* t as "2026-11-27T19:04:05.123Z" into out, NUL-terminated: always
 * milliseconds, always UTC. Returns the length (24 for years 0..9999). */
size_t timestamp_format(const timestamp_value *t, char out[TIMESTAMP_TEXT_MAX]);

#endif
