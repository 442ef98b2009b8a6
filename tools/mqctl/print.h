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
__printf(1, 2) void print_text(const char *fmt, ...);
void print_flush(void);

#endif /* MQCTL_PRINT_H */
