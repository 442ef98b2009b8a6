/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mqctl: what the per-object files share: exit codes, the command tables,
 * error reporting and argument parsers.
 */
#ifndef MQCTL_H
#define MQCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MQCTL_VERSION	"0.1.0"

/*
 * Exit codes, the one place they are defined. --help (mqctl.c) and the man
 * page (mqctl.8, EXIT STATUS) list them too: change all three together.
 */
enum mqctl_exit {
	MQCTL_EXIT_OK = 0,	/* success */
	MQCTL_EXIT_USAGE = 1,	/* bad command line; nothing was changed */
	MQCTL_EXIT_KERNEL = 2,	/* the kernel refused the request, netlink or output failed */
	MQCTL_EXIT_NOKERNEL = 3,	/* cannot reach the kernel: mq module not loaded */
	MQCTL_EXIT_PERM = 4,	/* permission denied: needs CAP_NET_ADMIN or CAP_SYS_ADMIN */
};

#define BIT_ULL(n)	(1ULL << (n))
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/**
 * struct cmd - one COMMAND of an OBJECT
 * @name: the word on the command line
 * @run: runs it; gets the arguments after @name; returns an MQCTL_EXIT_*
 * @usage: its synopsis, without the leading "mqctl "
 * @where: the table's @where text explains this command's arguments
 */
struct cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
	bool where;
};

/**
 * struct cmd_table - the COMMANDs of one OBJECT
 * @object: the OBJECT word, for messages and help
 * @cmds: the commands, ending with a zeroed entry
 * @where: help text that follows the synopsis
 * @dflt: the command run when none is given
 */
struct cmd_table {
	const char *object;
	const struct cmd *cmds;
	const char *where;
	const char *dflt;
};

int cmd_dispatch(const struct cmd_table *t, int argc, char **argv);
bool is_help(const char *arg);
int no_arguments(int argc, char **argv);
__printf(1, 2) int usage_error(const char *fmt, ...);
__printf(2, 3) int fail(int code, const char *fmt, ...);
int fail_errno(const char *what, const char *path);

int parse_size(const char *s, uint64_t max, uint64_t *out);
int parse_uint(const char *s, uint64_t max, uint64_t *out);
int parse_mode(const char *s, uint64_t *out);
int parse_id(const char *s, bool group, uint64_t *out);
int parse_durability(const char *s, uint64_t *out);
const char *durability_name(uint64_t v);
const char *format_size(char *buf, size_t len, uint64_t v);
const char *format_duration(char *buf, size_t len, uint64_t ns);
const char *user_name(uint32_t uid);
const char *group_name(uint32_t gid);

/* The kernel's 32-bit dev_t encoding (new_encode_dev()), undone. */
static inline unsigned int kdev_major(uint32_t dev)
{
	return (dev & 0xfff00) >> 8;
}

static inline unsigned int kdev_minor(uint32_t dev)
{
	return (dev & 0xff) | ((dev >> 12) & 0xfff00);
}

int queue_main(int argc, char **argv);
int store_main(int argc, char **argv);
int monitor_main(int argc, char **argv);

#endif /* MQCTL_H */
