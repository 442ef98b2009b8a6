// SPDX-License-Identifier: GPL-2.0
/*
 * The guest side of the crash loop (tools/vm/crash-loop.sh).
 *
 *   crashload init DEV         format DEV (1 MiB segments), attach it,
 *                              create queue "crash" (durability sync),
 *                              and queue "stuck" with one message that
 *                              is read only by the final drain: the log
 *                              comes round many times, and the cleaner
 *                              must carry that message forward across
 *                              the power cuts
 *   crashload run DEV START    attach DEV, drain queue "crash", then load
 *                              it until killed: 2 writers of sequenced,
 *                              checksummed messages from START on, and a
 *                              reader
 *   crashload drain DEV        attach DEV and drain queue "crash"
 *
 * Output, one line per event, written unbuffered to stdout (the serial
 * console, which the host keeps even when it kills QEMU):
 *   HEAD offset      after attach: the queue's head (first unread offset)
 *   ACK seq          a write(2) of message seq returned: it is durable
 *   GOT seq flags offset  message seq was read (flags: MQ_MSG_*)
 *   BAD offset why   a message that does not check out: the run fails
 *   DRAINED n        the queue is empty after n reads
 *   STUCK ok         (drain) the stuck message read back intact, once
 * The host checks that every ACKed seq was GOT, and that a seq GOT twice
 * came back flagged MQ_MSG_REDELIVERED. A read whose GOT line the power
 * cut swallowed shows as a gap between the last offset read and the next
 * boot's HEAD; only such gaps may account for an ACKed seq never GOT.
 *
 * write(2) to the console returns once the line is in the serial driver's
 * buffer, not once it has left the VM: a power cut can swallow several
 * lines. So after each GOT the reader waits (tcdrain) until the console's
 * output is out of the VM before it reads again; a power cut then hides
 * at most the one read in flight. (Swallowed ACK lines only mean fewer
 * messages checked.)
 */
#include <pthread.h>
#include <stdarg.h>
#include <termios.h>
#include <time.h>

#include "mqtest.h"

#define QNAME	"crash"
#define STUCK	"stuck"
#define STUCK_SEQ	4242424242ULL
#define MAXLEN	6000

static void say(const char *fmt, ...)
{
	char line[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (write(1, line, n) != n)
		_exit(3);
}

static uint32_t crc(const unsigned char *p, size_t n)
{
	uint32_t c = 0x12345678;

	while (n--)
		c = (c ^ *p++) * 0x01000193;
	return c;
}

/* seq (8) | len (4) | crc of the rest (4) | pseudo-random bytes */
static size_t make_msg(unsigned char *buf, uint64_t seq)
{
	size_t len = 16 + (seq * 2654435761u) % (MAXLEN - 16);
	uint32_t c, l = len;
	size_t i;

	memcpy(buf, &seq, 8);
	memcpy(buf + 8, &l, 4);
	for (i = 16; i < len; i++)
		buf[i] = (unsigned char)(seq * 31 + i * 17);
	c = crc(buf + 16, len - 16);
	memcpy(buf + 12, &c, 4);
	return len;
}

static bool msg_ok(const unsigned char *buf, size_t len, uint64_t *seq)
{
	uint32_t l, c;

	if (len < 16)
		return false;
	memcpy(seq, buf, 8);
	memcpy(&l, buf + 8, 4);
	memcpy(&c, buf + 12, 4);
	return l == len && c == crc(buf + 16, len - 16);
}

static int store(struct mqt_nl *nl, uint8_t cmd, const char *dev)
{
	struct nl_msg *msg = mqt_msg(nl, cmd, 0);
	struct mqt_reply r;
	int err;

	if (dev)
		nla_put_string(msg, MQ_A_STORE_PATH, dev);
	if (cmd == MQ_CMD_STORE_FORMAT)
		nla_put_u32(msg, MQ_A_STORE_SEGMENT_SIZE, 1 << 20);
	err = mqt_nl_send(nl, msg, &r);
	if (err)
		fprintf(stderr, "crashload: store command %d: %s (%s)\n", cmd,
			strerror(-err), r.extack);
	mqt_reply_free(&r);
	return err;
}

/* Read one message and say what it was. Return: 0, or -1 (errno set). */
static int recv_one(int fd, unsigned char *buf)
{
	struct mq_recv rv = { .size = sizeof(rv) };
	uint64_t seq;

	rv.buf = (uintptr_t)buf;
	rv.buf_len = MAXLEN;
	if (ioctl(fd, MQ_IOC_RECV, &rv))
		return -1;
	if (!msg_ok(buf, rv.len, &seq))
		say("BAD %llu corrupt\n", (unsigned long long)rv.offset);
	else
		say("GOT %llu %u %llu\n", (unsigned long long)seq,
		    rv.msg_flags, (unsigned long long)rv.offset);
	/* Not a tty (run by hand into a pipe or file): nothing to wait for. */
	if (tcdrain(1) && errno != ENOTTY && errno != EINVAL)
		say("BAD - tcdrain: %s\n", strerror(errno));
	return 0;
}

static int drain(void)
{
	unsigned char *buf = malloc(MAXLEN);
	int fd = mqt_open(QNAME, O_RDONLY | O_NONBLOCK), n = 0;

	if (fd < 0) {
		perror("crashload: open " QNAME);
		return -1;
	}
	while (!recv_one(fd, buf))
		n++;
	if (errno != EAGAIN)
		say("BAD - read: %s\n", strerror(errno));
	close(fd);
	free(buf);
	say("DRAINED %d\n", n);
	return n;
}

/* The stuck queue holds its one message: say BAD otherwise. */
static void stuck_check(bool read_it)
{
	unsigned char buf[MAXLEN];
	struct mq_info info;
	uint64_t seq;
	ssize_t n;
	int fd = mqt_open(STUCK, O_RDONLY | O_NONBLOCK);

	if (fd < 0 || mqt_info(fd, &info) || info.depth_msgs != 1) {
		say("BAD - stuck queue: %s\n", fd < 0 ? strerror(errno) : "not one message");
		goto out;
	}
	if (!read_it)
		goto out;
	n = read(fd, buf, sizeof(buf));
	if (n < 0 || !msg_ok(buf, n, &seq) || seq != STUCK_SEQ)
		say("BAD - the stuck message: %s\n", n < 0 ? strerror(errno) : "corrupt");
	else if (read(fd, buf, sizeof(buf)) >= 0 || errno != EAGAIN)
		say("BAD - the stuck queue had two messages\n");
	else
		say("STUCK ok\n");
out:
	if (fd >= 0)
		close(fd);
}

static uint64_t start;

static void *writer(void *arg)
{
	unsigned char *buf = malloc(MAXLEN);
	uint64_t seq = start + (uintptr_t)arg;
	int fd = mqt_open(QNAME, O_WRONLY);

	for (;; seq += 2) {
		size_t len = make_msg(buf, seq);

		if (write(fd, buf, len) == (ssize_t)len)
			say("ACK %llu\n", (unsigned long long)seq);
		else
			say("NAK %llu %s\n", (unsigned long long)seq, strerror(errno));
	}
	return NULL;
}

static void *reader(void *arg)
{
	unsigned char *buf = malloc(MAXLEN);
	int fd = mqt_open(QNAME, O_RDONLY);

	for (unsigned long n = 0;; n++) {
		if (recv_one(fd, buf)) {
			say("BAD - recv: %s\n", strerror(errno));
			sleep(1);
			continue;
		}
		/* Read slower than written: a backlog builds up. */
		if (n % 4 == 0)
			usleep(2000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct mqt_nl nl;
	pthread_t t;

	if (argc < 3 || mqt_nl_open(&nl)) {
		fprintf(stderr, "usage: crashload init|run|drain DEV [START]\n");
		return 2;
	}
	if (!strcmp(argv[1], "init")) {
		struct nl_msg *msg;
		struct mqt_reply r;

		if (store(&nl, MQ_CMD_STORE_FORMAT, argv[2]) ||
		    store(&nl, MQ_CMD_STORE_ATTACH, argv[2]))
			return 1;
		msg = mqt_msg(&nl, MQ_CMD_QUEUE_NEW, 0);
		nla_put_string(msg, MQ_A_QUEUE_NAME, QNAME);
		nla_put_u32(msg, MQ_A_QUEUE_DURABILITY, MQ_DURABILITY_SYNC);
		nla_put_u32(msg, MQ_A_QUEUE_CAP_MSGS, 1000000);
		nla_put_u64(msg, MQ_A_QUEUE_CAP_BYTES, 1ULL << 40);
		if (mqt_nl_send(&nl, msg, &r)) {
			fprintf(stderr, "crashload: create: %s\n", r.extack);
			return 1;
		}
		mqt_reply_free(&r);
		msg = mqt_msg(&nl, MQ_CMD_QUEUE_NEW, 0);
		nla_put_string(msg, MQ_A_QUEUE_NAME, STUCK);
		nla_put_u32(msg, MQ_A_QUEUE_DURABILITY, MQ_DURABILITY_SYNC);
		if (mqt_nl_send(&nl, msg, &r)) {
			fprintf(stderr, "crashload: create: %s\n", r.extack);
			return 1;
		}
		mqt_reply_free(&r);
		{
			unsigned char buf[MAXLEN];
			size_t len = make_msg(buf, STUCK_SEQ);
			int fd = mqt_open(STUCK, O_WRONLY);

			if (fd < 0 || write(fd, buf, len) != (ssize_t)len) {
				perror("crashload: the stuck message");
				return 1;
			}
			close(fd);
		}
		say("READY\n");
		return 0;
	}
	if (store(&nl, MQ_CMD_STORE_ATTACH, argv[2]))
		return 1;
	{
		struct mq_info info;
		int fd = mqt_open(QNAME, O_RDONLY);

		if (fd < 0 || mqt_info(fd, &info)) {
			perror("crashload: info");
			return 1;
		}
		say("HEAD %llu\n", (unsigned long long)info.head_offset);
		close(fd);
	}
	if (drain() < 0)
		return 1;
	stuck_check(!strcmp(argv[1], "drain"));
	if (!strcmp(argv[1], "drain"))
		return 0;
	start = argc > 3 ? strtoull(argv[3], NULL, 10) : 0;
	pthread_create(&t, NULL, writer, (void *)0);
	pthread_create(&t, NULL, writer, (void *)1);
	pthread_create(&t, NULL, reader, NULL);
	say("LOADING\n");
	for (;;)
		pause();
}
