// SPDX-License-Identifier: GPL-2.0
/*
 * mqctl: configure mq.ko's queues over generic netlink.
 *
 *   mqctl [ OPTIONS ] OBJECT { COMMAND | help }
 *
 * One file per OBJECT (queue.c, store.c, monitor.c), each with a table of
 * COMMANDs that cmd_dispatch() runs; keys.c reads their KEY VALUE pairs,
 * nl.c talks to the kernel, print.c prints text or JSON, loop.c makes the
 * loop device of "store create".
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/mq.h>

#include "mqctl.h"
#include "nl.h"
#include "print.h"

static const struct cmd objects[] = {
	{ "queue",	queue_main,	"queue { add | set | del | show | list | help }", false },
	{ "store",	store_main,
	  "store { create | format | attach | detach | show | help }", false },
	{ "monitor",	monitor_main,	"monitor [ help ]", false },
	{}
};

/* The help command for what is being parsed, for usage errors. */
static char help_hint[64] = "mqctl help";

static void print_usage(FILE *f)
{
	const struct cmd *c;

	fprintf(f, "Usage: mqctl [ OPTIONS ] OBJECT { COMMAND | help }\n");
	for (c = objects; c->name; c++)
		fprintf(f, "       mqctl [ OPTIONS ] %s\n", c->usage);
	fprintf(f,
		"where  OPTIONS := { -j[son] | -p[retty] | -h[elp] | -V[ersion] }\n"
		"       -j  JSON output; -p  indented JSON (implies -j)\n"
		"OBJECT and COMMAND may be shortened to any unique prefix.\n"
		"Exit status: %d success, %d usage error, %d the kernel refused the request,\n"
		"             %d cannot reach the kernel (mq module not loaded),\n"
		"             %d permission denied (needs CAP_NET_ADMIN or CAP_SYS_ADMIN).\n",
		MQCTL_EXIT_OK, MQCTL_EXIT_USAGE, MQCTL_EXIT_KERNEL,
		MQCTL_EXIT_NOKERNEL, MQCTL_EXIT_PERM);
}

static void vreport(const char *fmt, va_list ap)
{
	fputs("mqctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/**
 * fail() - print "mqctl: MESSAGE" on stderr
 * @code: the MQCTL_EXIT_* code to return
 * @fmt: printf format of the message
 *
 * Return: @code.
 */
int fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
	return code;
}

/**
 * fail_errno() - report a system call that failed on a path, by errno
 * @what: what was tried, such as "cannot open"
 * @path: the path
 *
 * Return: MQCTL_EXIT_PERM for EACCES and EPERM; MQCTL_EXIT_USAGE when the
 * path itself is wrong (it does not exist, is a directory...);
 * MQCTL_EXIT_KERNEL otherwise.
 */
int fail_errno(const char *what, const char *path)
{
	int err = errno, code = MQCTL_EXIT_KERNEL;

	if (err == EACCES || err == EPERM)
		code = MQCTL_EXIT_PERM;
	else if (err == ENOENT || err == ENOTDIR || err == EISDIR ||
		 err == ELOOP || err == ENAMETOOLONG)
		code = MQCTL_EXIT_USAGE;
	return fail(code, "%s %s: %s", what, path, strerror(err));
}

/**
 * usage_error() - report a bad command line, with where to find help
 * @fmt: printf format of the message
 *
 * Return: MQCTL_EXIT_USAGE.
 */
int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try \"%s\".\n", help_hint);
	return MQCTL_EXIT_USAGE;
}

/**
 * no_arguments() - check that a COMMAND that takes none got none
 * @argc: number of words after the COMMAND
 * @argv: the words after the COMMAND
 *
 * Return: MQCTL_EXIT_OK, or MQCTL_EXIT_USAGE with the error printed.
 */
int no_arguments(int argc, char **argv)
{
	return argc ? usage_error("unexpected argument \"%s\"", argv[0]) :
		      MQCTL_EXIT_OK;
}

/**
 * is_help() - whether a word asks for help
 * @arg: the word
 */
bool is_help(const char *arg)
{
	return !strcmp(arg, "help") || !strcmp(arg, "-h") ||
	       !strcmp(arg, "--help");
}

/* An exact name, else a unique prefix; reports an unknown or ambiguous word. */
static const struct cmd *cmd_find(const struct cmd *cmds, const char *what,
				  const char *word)
{
	const struct cmd *c, *found = NULL;
	size_t len = strlen(word), used = 0;
	char matches[128] = "";
	int n = 0;

	for (c = cmds; c->name; c++) {
		if (!strcmp(c->name, word))
			return c;
		if (!len || strncmp(c->name, word, len))
			continue;
		found = c;
		if (used < sizeof(matches))
			used += snprintf(matches + used, sizeof(matches) - used,
					 "%s%s", n++ ? ", " : "", c->name);
	}
	if (n == 1)
		return found;
	if (!n)
		usage_error("unknown %s \"%s\"", what, word);
	else
		usage_error("%s \"%s\" is ambiguous: %s", what, word, matches);
	return NULL;
}

static void table_help(const struct cmd_table *t, const struct cmd *only)
{
	const struct cmd *c;
	const char *lead = "Usage:";
	bool where = false;

	for (c = only ? only : t->cmds; c->name; c++) {
		printf("%s mqctl %s\n", lead, c->usage);
		lead = "      ";
		where |= c->where;
		if (only)
			break;
	}
	if (where || !only)
		fputs(t->where, stdout);
	if (!only)
		printf("\"mqctl %s\" alone runs \"mqctl %s %s\".\n",
		       t->object, t->object, t->dflt);
}

/**
 * cmd_dispatch() - run one COMMAND of an OBJECT
 * @t: the OBJECT's commands
 * @argc: number of words after the OBJECT
 * @argv: the words after the OBJECT
 *
 * "help" in the COMMAND's place prints the OBJECT's help, and after the
 * COMMAND that COMMAND's. With no COMMAND, @t->dflt runs.
 *
 * Return: an MQCTL_EXIT_* code.
 */
int cmd_dispatch(const struct cmd_table *t, int argc, char **argv)
{
	const struct cmd *c;

	snprintf(help_hint, sizeof(help_hint), "mqctl %s help", t->object);
	if (argc && is_help(argv[0])) {
		table_help(t, NULL);
		return MQCTL_EXIT_OK;
	}
	c = cmd_find(t->cmds, "command", argc ? argv[0] : t->dflt);
	if (!c)
		return MQCTL_EXIT_USAGE;
	if (argc > 1 && is_help(argv[1])) {
		table_help(t, c);
		return MQCTL_EXIT_OK;
	}
	snprintf(help_hint, sizeof(help_hint), "mqctl %s %s help",
		 t->object, c->name);
	return argc ? c->run(argc - 1, argv + 1) : c->run(0, argv);
}

static const struct option long_options[] = {
	{ "json",	no_argument,	NULL,	'j' },
	{ "pretty",	no_argument,	NULL,	'p' },
	{ "help",	no_argument,	NULL,	'h' },
	{ "version",	no_argument,	NULL,	'V' },
	{}
};

/* Global options; returns the index of the OBJECT, or -MQCTL_EXIT_* to exit. */
static int parse_options(int argc, char **argv)
{
	bool json = false, pretty = false;
	int opt;

	opterr = 0;
	/* _only: "-json" as in iproute2; '+': stop at the OBJECT. */
	while ((opt = getopt_long_only(argc, argv, "+jphV", long_options,
				       NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'p':
			json = true;
			pretty = true;
			break;
		case 'h':
			print_usage(stdout);
			return -MQCTL_EXIT_OK;
		case 'V':
			printf("mqctl %s (generic netlink family \"%s\" version %d)\n",
			       MQCTL_VERSION, MQ_GENL_NAME, MQ_GENL_VERSION);
			return -MQCTL_EXIT_OK;
		default:
			if (optopt && !strchr("jphV", optopt))
				return -usage_error("unknown option \"-%c\"", optopt);
			return -usage_error("unknown option \"%s\"",
					    argv[optind - 1]);
		}
	}
	print_init(json, pretty);
	return optind;
}

static int run(int argc, char **argv)
{
	const struct cmd *obj;
	int i;

	i = parse_options(argc, argv);
	if (i <= 0)
		return -i;
	if (i == argc) {
		print_usage(stderr);
		return MQCTL_EXIT_USAGE;
	}
	if (is_help(argv[i])) {
		print_usage(stdout);
		return MQCTL_EXIT_OK;
	}
	obj = cmd_find(objects, "object", argv[i]);
	if (!obj)
		return MQCTL_EXIT_USAGE;
	snprintf(help_hint, sizeof(help_hint), "mqctl %s help", obj->name);
	return obj->run(argc - i - 1, argv + i + 1);
}

int main(int argc, char **argv)
{
	int ret = run(argc, argv);

	mq_nl_close();
	/* A full disk or a closed pipe must not pass for success. */
	if (fflush(stdout) || ferror(stdout))
		ret = fail(MQCTL_EXIT_KERNEL, "cannot write the output: %s",
			   strerror(errno));
	return ret;
}
