/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Output for people and for scripts from the same calls, after iproute2's
 * json_print: every print_*() call names a JSON key and a text format, and
 * emits whichever the run asked for (-j or not).
 */
#ifndef MQCTL_PRINT_H
#define MQCTL_PRINT_H

#include <stdbool.h>
#include <stdint.h>

#include "mqctl.h"

enum output_type {
	PRINT_FP = 1,		/* text only */
	PRINT_JSON = 2,		/* JSON only */
	PRINT_ANY = PRINT_FP | PRINT_JSON,
};

void print_init(bool json, bool pretty);
bool is_json(void);

void open_json_object(const char *key);
void close_json_object(void);
void open_json_array(const char *key);
void close_json_array(void);

void print_string(enum output_type t, const char *key, const char *fmt,
		  const char *value);
void print_uint(enum output_type t, const char *key, const char *fmt,
		unsigned long long value);
void print_size(enum output_type t, const char *key, const char *fmt,
		uint64_t value);
void print_duration(enum output_type t, const char *key, const char *fmt,
		    uint64_t ns);
void print_bool(enum output_type t, const char *key, const char *fmt,
		bool value);
void print_enum(const char *key, const char *fmt, const char *name,
		uint64_t value);
void print_devt(const char *key, uint32_t dev);

/**
 * struct print_field - a number printed with one JSON key and one text format
 * @id: its index in the values (an MQ_A_*, MQ_STAT_*, MQ_SSTAT_*)
 * @key: the JSON key
 * @fmt: the text format: %llu, or %s for a size, a duration or a truth
 * @kind: how the text shows it
 */
struct print_field {
	int id;
	const char *key;
	const char *fmt;
	enum { PF_NUM, PF_SIZE, PF_NS, PF_BOOL } kind;
};

#define FIELD_NUM(id, key, fmt)		{ id, key, fmt, PF_NUM }
#define FIELD_SIZE(id, key, fmt)	{ id, key, fmt, PF_SIZE }	/* "64K" */
#define FIELD_NS(id, key, fmt)		{ id, key, fmt, PF_NS }	/* "4.1ms" */
#define FIELD_BOOL(id, key, fmt)	{ id, key, fmt, PF_BOOL }	/* "yes" */

void print_fields(const char *label, const struct print_field *f, size_t n,
		  const uint64_t *val, uint64_t has, bool oneline);
__printf(1, 2) void print_text(const char *fmt, ...);
void print_flush(void);

#endif /* MQCTL_PRINT_H */
