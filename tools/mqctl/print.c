// SPDX-License-Identifier: GPL-2.0
/*
 * Text and JSON output from one set of calls (see print.h).
 *
 * The JSON writer keeps one flag per open container (has it a member yet?)
 * so commas and, with -p, newlines and indentation land where they belong.
 * A top-level value ends with a newline and a flush: "monitor -j" prints one
 * object per line, and a reader on a pipe sees each at once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "mqctl.h"
#include "print.h"

#define JSON_MAX_DEPTH	8
#define JSON_INDENT	"    "

static struct {
	bool json;
	bool pretty;
	int depth;
	bool nonempty[JSON_MAX_DEPTH + 1];
} out;

/**
 * print_init() - choose the output format for the whole run
 * @json: JSON instead of text
 * @pretty: indent JSON over several lines
 */
void print_init(bool json, bool pretty)
{
	out.json = json;
	out.pretty = pretty;
}

/**
 * is_json() - whether this run prints JSON
 */
bool is_json(void)
{
	return out.json;
}

/* Length of the well-formed UTF-8 sequence at @p (RFC 3629), 0 if none. */
static int utf8_len(const unsigned char *p)
{
	unsigned int cp, n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xc2 || p[0] > 0xf4)	/* a continuation, overlong, too big */
		return 0;
	n = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	cp = p[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * A JSON string. Bytes that are not UTF-8 (a user name from a foreign
 * locale, say) become U+FFFD, so the output always parses.
 */
static void json_string(const char *s)
{
	static const char short_esc[] = "btn\0fr";	/* \b to \r */
	const unsigned char *p = (const unsigned char *)s;
	int n;

	putchar('"');
	for (; *p; p += n ? n : 1) {
		n = utf8_len(p);
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p >= '\b' && *p <= '\r' && short_esc[*p - '\b'])
			printf("\\%c", short_esc[*p - '\b']);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else if (!n)
			fputs("\\ufffd", stdout);
		else
			fwrite(p, 1, n, stdout);
	}
	putchar('"');
}

static void json_newline(void)
{
	int i;

	if (!out.pretty)
		return;
	putchar('\n');
	for (i = 0; i < out.depth; i++)
		fputs(JSON_INDENT, stdout);
}

/* Starts a member of the open container: separator, then "key": */
static void json_member(const char *key)
{
	if (out.depth) {
		if (out.nonempty[out.depth])
			putchar(',');
		out.nonempty[out.depth] = true;
		json_newline();
	}
	if (key) {
		json_string(key);
		fputs(out.pretty ? ": " : ":", stdout);
	}
}

static void json_open(const char *key, char bracket)
{
	if (out.depth == JSON_MAX_DEPTH)
		abort();	/* a bug in mqctl, not in its input */
	json_member(key);
	putchar(bracket);
	out.nonempty[++out.depth] = false;
}

static void json_close(char bracket)
{
	bool nonempty = out.nonempty[out.depth--];

	if (nonempty)
		json_newline();
	putchar(bracket);
	if (!out.depth) {
		putchar('\n');
		fflush(stdout);
	}
}

/**
 * open_json_object() - start a JSON object; nothing in text mode
 * @key: its key in the enclosing object, NULL in an array or at top level
 */
void open_json_object(const char *key)
{
	if (out.json)
		json_open(key, '{');
}

/**
 * close_json_object() - end the object open_json_object() started
 */
void close_json_object(void)
{
	if (out.json)
		json_close('}');
}

/**
 * open_json_array() - start a JSON array; nothing in text mode
 * @key: its key in the enclosing object, NULL in an array or at top level
 */
void open_json_array(const char *key)
{
	if (out.json)
		json_open(key, '[');
}

/**
 * close_json_array() - end the array open_json_array() started
 */
void close_json_array(void)
{
	if (out.json)
		json_close(']');
}

static bool want_json(enum output_type t)
{
	return out.json && (t & PRINT_JSON);
}

static bool want_text(enum output_type t, const char *fmt)
{
	return !out.json && (t & PRINT_FP) && fmt;
}

/**
 * print_string() - a string member in JSON, or @fmt with it in text
 * @t: which outputs want it
 * @key: the JSON key
 * @fmt: the text format, with one %s; NULL: no text
 * @value: the string
 */
void print_string(enum output_type t, const char *key, const char *fmt,
		  const char *value)
{
	if (want_json(t)) {
		json_member(key);
		json_string(value);
	} else if (want_text(t, fmt)) {
		printf(fmt, value);
	}
}

/**
 * print_uint() - an exact number in JSON, or @fmt with it in text
 * @t: which outputs want it
 * @key: the JSON key
 * @fmt: the text format, with one %llu; NULL: no text
 * @value: the number
 */
void print_uint(enum output_type t, const char *key, const char *fmt,
		unsigned long long value)
{
	if (want_json(t)) {
		json_member(key);
		printf("%llu", value);
	} else if (want_text(t, fmt)) {
		printf(fmt, value);
	}
}

/* A number exact in JSON, and in text as @format writes it for people. */
static void print_short(enum output_type t, const char *key, const char *fmt,
			uint64_t value,
			const char *(*format)(char *buf, size_t len, uint64_t v))
{
	char buf[32];

	if (want_json(t))
		print_uint(t, key, NULL, value);
	else if (want_text(t, fmt))
		printf(fmt, format(buf, sizeof(buf), value));
}

/**
 * print_size() - a byte count: exact in JSON, short in text ("64K")
 * @t: which outputs want it
 * @key: the JSON key
 * @fmt: the text format, with one %s; NULL: no text
 * @value: the number of bytes
 */
void print_size(enum output_type t, const char *key, const char *fmt,
		uint64_t value)
{
	print_short(t, key, fmt, value, format_size);
}

/**
 * print_duration() - nanoseconds: exact in JSON, short in text ("4.1ms")
 * @t: which outputs want it
 * @key: the JSON key
 * @fmt: the text format, with one %s; NULL: no text
 * @ns: the duration
 */
void print_duration(enum output_type t, const char *key, const char *fmt,
		    uint64_t ns)
{
	print_short(t, key, fmt, ns, format_duration);
}

/**
 * print_bool() - true or false in JSON, "yes" or "no" with @fmt in text
 * @t: which outputs want it
 * @key: the JSON key
 * @fmt: the text format, with one %s; NULL: no text
 * @value: the truth
 */
void print_bool(enum output_type t, const char *key, const char *fmt,
		bool value)
{
	if (want_json(t)) {
		json_member(key);
		fputs(value ? "true" : "false", stdout);
	} else if (want_text(t, fmt)) {
		printf(fmt, value ? "yes" : "no");
	}
}

/**
 * print_enum() - an enumerated value by its name, else its number
 * @key: the JSON key
 * @fmt: the text format, with one %s
 * @name: the value's name; NULL for one this mqctl does not know (from a
 *	newer kernel): then the number, in JSON and in text
 * @value: the value
 */
void print_enum(const char *key, const char *fmt, const char *name,
		uint64_t value)
{
	char buf[24];

	if (name) {
		print_string(PRINT_ANY, key, fmt, name);
		return;
	}
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)value);
	print_uint(PRINT_JSON, key, NULL, value);
	print_string(PRINT_FP, key, fmt, buf);
}

/**
 * print_devt() - a device number in JSON: {"major": N, "minor": N}
 * @key: the JSON key
 * @dev: the number as the kernel encodes it (new_encode_dev())
 */
void print_devt(const char *key, uint32_t dev)
{
	open_json_object(key);
	print_uint(PRINT_JSON, "major", NULL, kdev_major(dev));
	print_uint(PRINT_JSON, "minor", NULL, kdev_minor(dev));
	close_json_object();
}

/**
 * print_fields() - one text line of numbers, each a JSON member
 * @label: the line's first word
 * @f: the fields, in order
 * @n: how many
 * @val: the values, indexed by the fields' @id
 * @has: BIT_ULL(@id) of each value present; absent ones are left out
 * @oneline: continue the line (events) instead of starting an indented one
 *
 * Prints nothing, not even @label, when no field is present.
 */
void print_fields(const char *label, const struct print_field *f, size_t n,
		  const uint64_t *val, uint64_t has, bool oneline)
{
	size_t i = 0;

	while (i < n && !(has & BIT_ULL(f[i].id)))
		i++;
	if (i == n)
		return;
	print_text(oneline ? "%s" : "\n   %s", label);
	for (; i < n; i++) {
		if (!(has & BIT_ULL(f[i].id)))
			continue;
		if (f[i].kind == PF_SIZE)
			print_size(PRINT_ANY, f[i].key, f[i].fmt, val[f[i].id]);
		else if (f[i].kind == PF_NS)
			print_duration(PRINT_ANY, f[i].key, f[i].fmt, val[f[i].id]);
		else if (f[i].kind == PF_BOOL)
			print_bool(PRINT_ANY, f[i].key, f[i].fmt, val[f[i].id]);
		else
			print_uint(PRINT_ANY, f[i].key, f[i].fmt, val[f[i].id]);
	}
}

/**
 * print_text() - literal text, in text mode only
 * @fmt: printf format
 */
void print_text(const char *fmt, ...)
{
	va_list ap;

	if (out.json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

/**
 * print_flush() - hand what was printed to the reader now
 */
void print_flush(void)
{
	fflush(stdout);
}
