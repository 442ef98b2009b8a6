// SPDX-License-Identifier: GPL-2.0
/*
 * Command line values: sizes with binary suffixes, plain numbers, octal
 * modes, users and groups by name or number, durability words; and the
 * reverse for output, with durations.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/mq.h>

#include "mqctl.h"

static const char size_units[] = "KMGT";	/* 1K = 1024 */

/*
 * Leading digits only: strtoull() alone would take "-1", " 1" and "+1".
 * Returns how many characters it read, or -errno.
 */
static int parse_digits(const char *s, int base, unsigned long long *v)
{
	char *end;

	if (*s == '-')
		return -EDOM;
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, base);
	if (errno == ERANGE)
		return -ERANGE;
	return end - s;
}

/**
 * parse_size() - parse NUMBER[K|M|G|T], binary units, either case
 * @s: the text
 * @max: the largest value accepted
 * @out: the value
 *
 * Return: 0; -EINVAL if @s is not such a number, -EDOM if it is negative,
 * -ERANGE if it is above @max.
 */
int parse_size(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	const char *unit;
	int shift = 0, n;

	n = parse_digits(s, 10, &v);
	if (n < 0)
		return n;
	if (s[n]) {
		unit = strchr(size_units, toupper((unsigned char)s[n]));
		if (!unit || s[n + 1])
			return -EINVAL;
		shift = 10 * (unit - size_units + 1);
	}
	if (v > max >> shift)
		return -ERANGE;
	*out = v << shift;
	return 0;
}

/* Digits alone, in @base, up to @max; as parse_size() without a suffix. */
static int parse_plain(const char *s, int base, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	int n;

	n = parse_digits(s, base, &v);
	if (n < 0)
		return n;
	if (s[n])
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/**
 * parse_uint() - parse a plain decimal number, no suffix
 * @s: the text
 * @max: the largest value accepted
 * @out: the value
 *
 * Return: 0, -EINVAL, -EDOM or -ERANGE as parse_size().
 */
int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	return parse_plain(s, 10, max, out);
}

/**
 * parse_mode() - parse permission bits in octal, 0 to 0777
 * @s: the text
 * @out: the value
 *
 * Return: 0, -EINVAL, -EDOM or -ERANGE as parse_size().
 */
int parse_mode(const char *s, uint64_t *out)
{
	return parse_plain(s, 8, 0777, out);
}

static const char *const durability_names[] = {
	[MQ_DURABILITY_MEMORY]	= "memory",
	[MQ_DURABILITY_ASYNC]	= "async",
	[MQ_DURABILITY_SYNC]	= "sync",
};

/**
 * parse_durability() - parse "memory", "async" or "sync"
 * @s: the text
 * @out: the MQ_DURABILITY_* value
 *
 * Return: 0, or -EINVAL for any other word.
 */
int parse_durability(const char *s, uint64_t *out)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(durability_names); i++) {
		if (!strcmp(s, durability_names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

/**
 * durability_name() - the word for an MQ_DURABILITY_* value
 * @v: the value
 *
 * Return: the word, NULL for a value this mqctl does not know.
 */
const char *durability_name(uint64_t v)
{
	return v < ARRAY_SIZE(durability_names) ? durability_names[v] : NULL;
}

/**
 * parse_id() - parse a user or group: a number, else a name
 * @s: the text
 * @group: a group, not a user
 * @out: the id
 *
 * A number is taken as is (as chown(1) does), without a look-up.
 *
 * Return: 0; -ENOENT for an unknown name; -ERANGE for a number that is
 * not a valid id; -EDOM for a negative one.
 */
int parse_id(const char *s, bool group, uint64_t *out)
{
	unsigned long long v;
	struct passwd *pw;
	struct group *gr;
	int n;

	n = parse_digits(s, 10, &v);
	if (n == -EDOM || n == -ERANGE)
		return n;
	if (n > 0 && !s[n]) {
		if (v >= UINT32_MAX)	/* (uid_t)-1 means "no change" */
			return -ERANGE;
		*out = v;
		return 0;
	}
	if (group) {
		gr = getgrnam(s);
		if (!gr)
			return -ENOENT;
		*out = gr->gr_gid;
	} else {
		pw = getpwnam(s);
		if (!pw)
			return -ENOENT;
		*out = pw->pw_uid;
	}
	return 0;
}

/**
 * format_size() - a byte count for people: "64K" exactly, "1.2M" rounded
 * @buf: where to write it
 * @len: size of @buf
 * @v: the byte count
 *
 * Exact multiples of a unit print with the unit and no decimals, so a
 * configured limit reads back as it was given ("max-msg 64K"); counts
 * below 10K print in full; the rest round to one decimal.
 *
 * Return: @buf.
 */
const char *format_size(char *buf, size_t len, uint64_t v)
{
	int i = 0;

	while (size_units[i + 1] && v >= 1ULL << (10 * (i + 2)))
		i++;
	if (v < 1024 || (v < 10240 && v % 1024)) {
		snprintf(buf, len, "%llu", (unsigned long long)v);
	} else if (!(v & ((1ULL << (10 * (i + 1))) - 1))) {
		snprintf(buf, len, "%llu%c",
			 (unsigned long long)(v >> (10 * (i + 1))), size_units[i]);
	} else {
		double d = (double)v / (1ULL << (10 * (i + 1)));

		if (d >= 1023.95 && size_units[i + 1])
			d /= 1024, i++;
		snprintf(buf, len, "%.1f%c", d, size_units[i]);
	}
	return buf;
}

/**
 * user_name() - the name of a user id
 * @uid: the id
 *
 * Return: the name, valid until the next call; NULL if it has none.
 */
const char *user_name(uint32_t uid)
{
	struct passwd *pw = getpwuid(uid);

	return pw ? pw->pw_name : NULL;
}

/**
 * group_name() - the name of a group id
 * @gid: the id
 *
 * Return: the name, valid until the next call; NULL if it has none.
 */
const char *group_name(uint32_t gid)
{
	struct group *gr = getgrgid(gid);

	return gr ? gr->gr_name : NULL;
}

/**
 * format_duration() - nanoseconds for people: "850ns", "12.3us", "4.1ms"
 * @buf: where to write it
 * @len: size of @buf
 * @ns: the duration
 *
 * Three significant digits at most, in the largest unit that leaves a
 * whole part: ns, us, ms or s.
 *
 * Return: @buf.
 */
const char *format_duration(char *buf, size_t len, uint64_t ns)
{
	static const char *const units[] = { "ns", "us", "ms", "s" };
	double d = ns;
	size_t i = 0;

	/* 999.96us rounds to "1e+03" with %.3g: such values take the next unit. */
	while (d >= 999.5 && i + 1 < ARRAY_SIZE(units)) {
		d /= 1000;
		i++;
	}
	if (d >= 999.5)
		snprintf(buf, len, "%.0f%s", d, units[i]);
	else
		snprintf(buf, len, "%.3g%s", d, units[i]);
	return buf;
}
