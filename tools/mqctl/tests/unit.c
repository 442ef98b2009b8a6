// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of mqctl's parsers and printer: sizes, plain numbers, modes,
 * ids, durability words, human sizes and durations, JSON escaping and
 * layout, field lines. Linked with ../parse.c and ../print.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/mq.h>

#include "../mqctl.h"
#include "../print.h"

static int passed, failed;

static void check(int ok, const char *what, const char *input)
{
	printf("%sok %d - %s%s%s%s\n", ok ? "" : "not ", passed + failed + 1,
	       what, *input ? " \"" : "", input, *input ? "\"" : "");
	if (ok)
		passed++;
	else
		failed++;
}

static void test_parse_size(void)
{
	static const struct {
		const char *s;
		uint64_t max;
		int err;
		uint64_t v;
	} t[] = {
		{ "0", UINT32_MAX, 0, 0 },
		{ "4096", UINT32_MAX, 0, 4096 },
		{ "64K", UINT32_MAX, 0, 65536 },
		{ "64k", UINT32_MAX, 0, 65536 },
		{ "4M", UINT32_MAX, 0, 4 << 20 },
		{ "3G", UINT32_MAX, 0, 3ULL << 30 },
		{ "1T", UINT64_MAX, 0, 1ULL << 40 },
		{ "4294967295", UINT32_MAX, 0, UINT32_MAX },
		{ "4194303K", UINT32_MAX, 0, 4194303ULL << 10 },
		{ "18446744073709551615", UINT64_MAX, 0, UINT64_MAX },
		{ "16777215T", UINT64_MAX, 0, 16777215ULL << 40 },
		{ "4294967296", UINT32_MAX, -ERANGE, 0 },
		{ "4G", UINT32_MAX, -ERANGE, 0 },
		{ "4194304K", UINT32_MAX, -ERANGE, 0 },
		{ "16777216T", UINT64_MAX, -ERANGE, 0 },
		{ "18446744073709551616", UINT64_MAX, -ERANGE, 0 },
		{ "99999999999999999999999K", UINT64_MAX, -ERANGE, 0 },
		{ "-1", UINT64_MAX, -EDOM, 0 },
		{ "-0", UINT64_MAX, -EDOM, 0 },
		{ "", UINT64_MAX, -EINVAL, 0 },
		{ "K", UINT64_MAX, -EINVAL, 0 },
		{ "12X", UINT64_MAX, -EINVAL, 0 },
		{ "1KB", UINT64_MAX, -EINVAL, 0 },
		{ "1 K", UINT64_MAX, -EINVAL, 0 },
		{ "+1", UINT64_MAX, -EINVAL, 0 },
		{ " 1", UINT64_MAX, -EINVAL, 0 },
		{ "0x10", UINT64_MAX, -EINVAL, 0 },
		{ "1.5K", UINT64_MAX, -EINVAL, 0 },
		{ "1e3", UINT64_MAX, -EINVAL, 0 },
	};
	uint64_t v;
	size_t i;
	int err;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		v = 0;
		err = parse_size(t[i].s, t[i].max, &v);
		check(err == t[i].err && v == t[i].v, "parse_size", t[i].s);
	}
}

static void test_parse_uint(void)
{
	static const struct {
		const char *s;
		int err;
		uint64_t v;
	} t[] = {
		{ "0", 0, 0 }, { "100", 0, 100 }, { "10000", 0, 10000 },
		{ "4294967295", 0, UINT32_MAX },
		{ "4294967296", -ERANGE, 0 }, { "99999999999999999999", -ERANGE, 0 },
		{ "1K", -EINVAL, 0 }, { "100ms", -EINVAL, 0 }, { "", -EINVAL, 0 },
		{ "-1", -EDOM, 0 }, { "+1", -EINVAL, 0 }, { "0x10", -EINVAL, 0 },
	};
	uint64_t v;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		v = 0;
		check(parse_uint(t[i].s, UINT32_MAX, &v) == t[i].err && v == t[i].v,
		      "parse_uint", t[i].s);
	}
}

static void test_durability(void)
{
	static const struct {
		const char *s;
		int err;
		uint64_t v;
	} t[] = {
		{ "memory", 0, MQ_DURABILITY_MEMORY },
		{ "async", 0, MQ_DURABILITY_ASYNC },
		{ "sync", 0, MQ_DURABILITY_SYNC },
		{ "Sync", -EINVAL, 0 }, { "mem", -EINVAL, 0 }, { "syncx", -EINVAL, 0 },
		{ "1", -EINVAL, 0 }, { "", -EINVAL, 0 },
	};
	uint64_t v;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		v = 0;
		check(parse_durability(t[i].s, &v) == t[i].err && v == t[i].v,
		      "parse_durability", t[i].s);
	}
	check(!strcmp(durability_name(MQ_DURABILITY_SYNC), "sync"),
	      "durability_name", "sync");
	check(!durability_name(3), "durability_name of an unknown value", "3");
}

static void test_parse_mode(void)
{
	static const struct {
		const char *s;
		int err;
		uint64_t v;
	} t[] = {
		{ "0660", 0, 0660 }, { "660", 0, 0660 }, { "0", 0, 0 },
		{ "0777", 0, 0777 }, { "00777", 0, 0777 },
		{ "01000", -ERANGE, 0 }, { "8", -EINVAL, 0 }, { "0o660", -EINVAL, 0 },
		{ "-1", -EDOM, 0 }, { "", -EINVAL, 0 }, { "rw", -EINVAL, 0 },
	};
	uint64_t v;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		v = 0;
		check(parse_mode(t[i].s, &v) == t[i].err && v == t[i].v,
		      "parse_mode", t[i].s);
	}
}

static void test_parse_id(void)
{
	uint64_t v = 1;

	check(!parse_id("0", false, &v) && v == 0, "parse_id user", "0");
	check(!parse_id("root", false, &v) && v == 0, "parse_id user", "root");
	check(!parse_id("root", true, &v) && v == 0, "parse_id group", "root");
	check(!parse_id("4294967294", false, &v) && v == 4294967294U,
	      "parse_id user", "4294967294");
	check(parse_id("4294967295", false, &v) == -ERANGE, "parse_id user",
	      "4294967295");
	check(parse_id("-1", true, &v) == -EDOM, "parse_id group", "-1");
	check(parse_id("no-such-user.mqctl", false, &v) == -ENOENT,
	      "parse_id user", "no-such-user.mqctl");
	check(parse_id("no-such-group.mqctl", true, &v) == -ENOENT,
	      "parse_id group", "no-such-group.mqctl");
}

static void test_format_size(void)
{
	static const struct {
		uint64_t v;
		const char *s;
	} t[] = {
		{ 0, "0" }, { 1023, "1023" }, { 1024, "1K" }, { 3456, "3456" },
		{ 10239, "10239" }, { 10240, "10K" }, { 10300, "10.1K" },
		{ 28672, "28K" }, { 65536, "64K" }, { 1048575, "1.0M" },
		{ 1048576, "1M" }, { 1234567, "1.2M" }, { 4194304, "4M" },
		{ 1ULL << 30, "1G" }, { 5ULL << 40, "5T" },
		{ UINT64_MAX, "16777216.0T" },
	};
	char buf[32];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++)
		check(!strcmp(format_size(buf, sizeof(buf), t[i].v), t[i].s),
		      "format_size", t[i].s);
}

static void test_format_duration(void)
{
	static const struct {
		uint64_t ns;
		const char *s;
	} t[] = {
		{ 0, "0ns" }, { 850, "850ns" }, { 999, "999ns" }, { 1000, "1us" },
		{ 1500, "1.5us" }, { 12345, "12.3us" }, { 120000, "120us" },
		{ 999400, "999us" }, { 999600, "1ms" }, { 4100000, "4.1ms" },
		{ 1000000000, "1s" }, { 2500000000000ULL, "2500s" },
		{ UINT64_MAX, "18446744074s" },
	};
	char buf[32];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++)
		check(!strcmp(format_duration(buf, sizeof(buf), t[i].ns), t[i].s),
		      "format_duration", t[i].s);
}

/* Runs @fn with stdout captured; compares with @want. */
static void expect_output(void (*fn)(void), const char *what, const char *want)
{
	FILE *real = stdout;
	size_t len;
	char *buf;

	stdout = open_memstream(&buf, &len);
	fn();
	fclose(stdout);
	stdout = real;
	check(!strcmp(buf, want), what, "");
	if (strcmp(buf, want))
		fprintf(stderr, "# got:\n%s# want:\n%s", buf, want);
	free(buf);
}

static void json_strings(void)
{
	open_json_object(NULL);
	print_string(PRINT_ANY, "plain", "%s", "jobs");
	print_string(PRINT_ANY, "quote\"back\\slash", "%s", "a\"b\\c/d");
	print_string(PRINT_ANY, "ctl", "%s", "\x01\b\t\n\v\f\r\x1f\x7f");
	print_string(PRINT_ANY, "utf8", "%s", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	print_string(PRINT_ANY, "bad", "%s",
		     "\xff|\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xe2\x82");
	print_uint(PRINT_ANY, "max", "%llu", UINT64_MAX);
	print_size(PRINT_ANY, "size", "%s", 65536);
	print_uint(PRINT_FP, "text-only", "%llu", 1);
	close_json_object();
}

static void json_layout(void)
{
	open_json_object(NULL);
	open_json_array("empty");
	close_json_array();
	open_json_object("nest");
	print_uint(PRINT_JSON, "a", NULL, 1);
	print_uint(PRINT_JSON, "b", NULL, 2);
	close_json_object();
	open_json_array("list");
	print_uint(PRINT_JSON, NULL, NULL, 1);
	open_json_object(NULL);
	close_json_object();
	close_json_array();
	close_json_object();
}

static void text_out(void)
{
	print_string(PRINT_ANY, "name", "%s:", "jobs");
	print_uint(PRINT_ANY, "id", " id %llu", 1);
	print_uint(PRINT_JSON, "json-only", " never %llu", 2);
	print_size(PRINT_ANY, "max_msg", " max-msg %s", 65536);
	print_text("\n");
	open_json_object("ignored");
	close_json_object();
}

static const struct print_field fields[] = {
	FIELD_NUM(1, "count", " count %llu"),
	FIELD_SIZE(2, "bytes", " bytes %s"),
	FIELD_NS(3, "latency_ns", " latency %s"),
	FIELD_BOOL(4, "clean", " clean %s"),
	FIELD_NUM(5, "absent", " absent %llu"),
};

static const uint64_t field_values[] = { 0, 7, 65536, 4100000, 1, 99 };

static void field_lines(void)
{
	open_json_object(NULL);
	print_string(PRINT_ANY, "path", "%s:", "/dev/loop0");
	print_devt("devt", 0x1000705);	/* new_encode_dev(7, 0x1005) */
	print_enum("known", " known %s", "ok", 0);
	print_enum("unknown", " unknown %s", NULL, 42);
	print_fields(" first", fields, 2, field_values, 0x1e, true);
	print_fields(" second", fields + 2, 3, field_values, 0x1e, false);
	print_fields(" none", fields, ARRAY_SIZE(fields), field_values, 0, false);
	print_bool(PRINT_ANY, "no", " no %s", false);
	print_text("\n");
	close_json_object();
}

int main(void)
{
	test_parse_size();
	test_parse_uint();
	test_parse_mode();
	test_parse_id();
	test_durability();
	test_format_size();
	test_format_duration();

	print_init(true, false);
	expect_output(json_strings, "json escaping",
		      "{\"plain\":\"jobs\",\"quote\\\"back\\\\slash\":\"a\\\"b\\\\c/d\","
		      "\"ctl\":\"\\u0001\\b\\t\\n\\u000b\\f\\r\\u001f\\u007f\","
		      "\"utf8\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\","
		      "\"bad\":\"\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|"
		      "\\ufffd\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\","
		      "\"max\":18446744073709551615,\"size\":65536}\n");
	expect_output(json_layout, "json compact",
		      "{\"empty\":[],\"nest\":{\"a\":1,\"b\":2},\"list\":[1,{}]}\n");
	print_init(true, true);
	expect_output(json_layout, "json pretty",
		      "{\n    \"empty\": [],\n    \"nest\": {\n        \"a\": 1,\n"
		      "        \"b\": 2\n    },\n    \"list\": [\n        1,\n"
		      "        {}\n    ]\n}\n");
	print_init(false, false);
	expect_output(text_out, "text", "jobs: id 1 max-msg 64K\n");
	expect_output(field_lines, "text: devt, enums, field lines",
		      "/dev/loop0: known ok unknown 42 first count 7 bytes 64K\n"
		      "    second latency 4.1ms clean yes no no\n");
	print_init(true, false);
	expect_output(field_lines, "json: devt, enums, field lines",
		      "{\"path\":\"/dev/loop0\",\"devt\":{\"major\":7,\"minor\":4101},"
		      "\"known\":\"ok\",\"unknown\":42,\"count\":7,\"bytes\":65536,"
		      "\"latency_ns\":4100000,\"clean\":true,"
		      "\"no\":false}\n");

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
