/* timestamp — see timestamp.h. Moved out of codec_decode.c unchanged but for
 * the names; the pure-C formatting is kept because an answer can hold
 * hundreds of timestamps. */
#include "timestamp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "text.h"

/* ==== calendar ============================================================ */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
int64_t timestamp_days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void timestamp_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

int timestamp_days_in_month(int64_t y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 ? 28 + leap : dm[m - 1];
}

typedef struct tm_parts {
	int64_t year;
	int mon, day, hour, min, sec, ms;
	int offset; /* seconds east of UTC */
} tm_parts;

static int parts_to_ts(const tm_parts *t, timestamp_value *out)
{
	if (t->year < 1 || t->year > 9999 || t->mon < 1 || t->mon > 12 || t->day < 1 ||
	    t->day > timestamp_days_in_month(t->year, t->mon) || t->hour > 23 || t->min > 59 || t->sec > 59)
		return -1;
	out->sec = timestamp_days_from_civil(t->year, t->mon, t->day) * 86400 + t->hour * 3600 +
		   t->min * 60 + t->sec - t->offset;
	out->ms = t->ms;
	return 0;
}

/* Exactly n digits at *p. */
static int take_digits(const char **p, const char *end, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (*p >= end || **p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
	}
	*out = v;
	return 0;
}

static int take_char(const char **p, const char *end, char ch)
{
	if (*p < end && **p == ch) {
		(*p)++;
		return 1;
	}
	return 0;
}

/* Fraction of a second: the first three digits are the milliseconds. */
static void take_fraction(const char **p, const char *end, int *ms)
{
	int scale = 100;
	*ms = 0;
	while (*p < end && **p >= '0' && **p <= '9') {
		*ms += (**p - '0') * scale;
		scale /= 10;
		(*p)++;
	}
}

/* "Z", "+HH:MM", "-HHMM", "+HH" or nothing (naive: taken as UTC). */
static int take_zone(const char **p, const char *end, int *offset)
{
	*offset = 0;
	if (*p == end || take_char(p, end, 'Z') || take_char(p, end, 'z'))
		return 0;
	int sign = **p == '-' ? -1 : 1, hh, mm = 0;
	if (**p != '+' && **p != '-')
		return -1;
	(*p)++;
	if (take_digits(p, end, 2, &hh) != 0)
		return -1;
	take_char(p, end, ':');
	if (*p < end && take_digits(p, end, 2, &mm) != 0)
		return -1;
	*offset = sign * (hh * 3600 + mm * 60);
	return 0;
}

static int take_time(const char **p, const char *end, int ext, tm_parts *t)
{
	if (take_digits(p, end, 2, &t->hour) != 0)
		return -1;
	if (ext && !take_char(p, end, ':'))
		return -1;
	if (take_digits(p, end, 2, &t->min) != 0)
		return -1;
	if (*p < end && ((ext && **p == ':') || (!ext && **p >= '0' && **p <= '9'))) {
		if (ext)
			(*p)++;
		if (take_digits(p, end, 2, &t->sec) != 0)
			return -1;
		if (take_char(p, end, '.') || take_char(p, end, ','))
			take_fraction(p, end, &t->ms);
	}
	return 0;
}

/* ISO 8601: "2026-11-27T19:04:05.123Z", "20261127T190405Z", "2026-11-27". */
int timestamp_parse_iso8601(const char *s, const char *end, timestamp_value *out)
{
	tm_parts t = { 0 };
	int year;
	const char *p = s;
	if (take_digits(&p, end, 4, &year) != 0)
		return -1;
	t.year = year;
	int ext = take_char(&p, end, '-');
	if (take_digits(&p, end, 2, &t.mon) != 0 || (ext && !take_char(&p, end, '-')) ||
	    take_digits(&p, end, 2, &t.day) != 0)
		return -1;
	if (p < end && (*p == 'T' || *p == 't' || *p == ' ')) {
		p++;
		if (take_time(&p, end, ext, &t) != 0)
			return -1;
	}
	if (take_zone(&p, end, &t.offset) != 0 || p != end)
		return -1;
	return parts_to_ts(&t, out);
}

static int month_index(const char *p, const char *end)
{
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	if (end - p < 3)
		return -1;
	for (int i = 0; i < 12; i++)
		if (strncasecmp(p, mon[i], 3) == 0)
			return i + 1;
	return -1;
}

/* RFC 822 / HTTP-date: "Fri, 27 Nov 2026 19:04:05 GMT" (weekday optional). */
int timestamp_parse_rfc822(const char *s, const char *end, timestamp_value *out)
{
	tm_parts t = { 0 };
	const char *p = s, *comma = memchr(s, ',', (size_t)(end - s));
	int year;
	if (comma)
		p = comma + 1;
	while (p < end && *p == ' ')
		p++;
	const char *day = p;
	if (take_digits(&p, end, 2, &t.day) != 0) {
		p = day;
		if (take_digits(&p, end, 1, &t.day) != 0)
			return -1;
	}
	if (!take_char(&p, end, ' ') || (t.mon = month_index(p, end)) < 0)
		return -1;
	p += 3;
	if (!take_char(&p, end, ' ') || take_digits(&p, end, 4, &year) != 0 ||
	    !take_char(&p, end, ' ') || take_time(&p, end, 1, &t) != 0)
		return -1;
	t.year = year;
	while (p < end && *p == ' ')
		p++;
	if (end - p == 3 && (strncmp(p, "GMT", 3) == 0 || strncmp(p, "UTC", 3) == 0))
		p = end;
	else if (end - p == 2 && strncmp(p, "UT", 2) == 0)
		p = end;
	if (take_zone(&p, end, &t.offset) != 0 || p != end)
		return -1;
	return parts_to_ts(&t, out);
}

/* Epoch seconds to (sec, ms) as datetime.fromtimestamp rounds: to the
 * microsecond, half to even; then milliseconds are truncated. */
int timestamp_from_epoch(double v, timestamp_value *out)
{
	if (!isfinite(v) || v < -62135596800.0 || v >= 253402300800.0)
		return -1;
	double ip = floor(v);
	long long us = llrint((v - ip) * 1e6);
	if (us >= 1000000) {
		ip += 1;
		us -= 1000000;
	}
	out->sec = (int64_t)ip;
	out->ms = (int)(us / 1000);
	return 0;
}

/* "2026-...": four digits then '-' cannot be a number (strtod stops at a
 * '-' that does not follow an 'e'), so the number attempt can be skipped. */
static int starts_like_iso_date(const char *s, size_t len)
{
	for (size_t i = 0; i < 4; i++)
		if (i >= len || s[i] < '0' || s[i] > '9')
			return 0;
	return len > 4 && s[4] == '-';
}

/* botocore parse_timestamp: an epoch number, else ISO 8601, else RFC 822. */
int timestamp_parse_text(const char *s, size_t len, timestamp_value *out)
{
	double v;
	text_trim(&s, &len);
	if (!starts_like_iso_date(s, len) && text_to_double(s, len, &v) == 0)
		return timestamp_from_epoch(v, out);
	if (timestamp_parse_iso8601(s, s + len, out) == 0)
		return 0;
	return timestamp_parse_rfc822(s, s + len, out);
}

/* v (0 <= v < 10^n) as exactly n decimal digits. */
static void put_digits(char *out, long v, int n)
{
	for (int i = n - 1; i >= 0; i--, v /= 10)
		out[i] = (char)('0' + v % 10);
}

size_t timestamp_format(const timestamp_value *t, char out[TIMESTAMP_TEXT_MAX])
{
	int64_t days = t->sec >= 0 ? t->sec / 86400 : -((-t->sec + 86399) / 86400);
	int64_t rem = t->sec - days * 86400, y;
	int m, d;
	timestamp_civil_from_days(days, &y, &m, &d);
	/* As "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", without printf's cost: a
	 * response can hold hundreds of timestamps. A zone offset can push a
	 * year 1 or 9999 date out of four digits: printf does those. */
	if (y < 0 || y > 9999)
		return (size_t)snprintf(out, TIMESTAMP_TEXT_MAX, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ",
					(long long)y, m, d,
					(int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), t->ms);
	put_digits(out, (long)y, 4);
	put_digits(out + 5, m, 2);
	put_digits(out + 8, d, 2);
	put_digits(out + 11, (long)(rem / 3600), 2);
	put_digits(out + 14, (long)(rem / 60 % 60), 2);
	put_digits(out + 17, (long)(rem % 60), 2);
	put_digits(out + 20, t->ms, 3);
	out[4] = out[7] = '-';
	out[10] = 'T';
	out[13] = out[16] = ':';
	out[19] = '.';
	out[23] = 'Z';
	out[24] = '\0';
	return 24;
}
