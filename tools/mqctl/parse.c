// SPDX-License-Identifier: GPL-2.0
/*
 * Command line values: sizes with binary suffixes, octal modes, users and
 * groups by name or number; and the reverse for output.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/**
 * parse_mode() - parse permission bits in octal, 0 to 0777
 * @s: the text
 * @out: the value
 *
 * Return: 0, -EINVAL, -EDOM or -ERANGE as parse_size().
 */
int parse_mode(const char *s, uint64_t *out)
{
	unsigned long long v;
	int n;

	n = parse_digits(s, 8, &v);
	if (n < 0)
		return n;
	if (s[n])
		return -EINVAL;
	if (v > 0777)
		return -ERANGE;
	*out = v;
	return 0;
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
