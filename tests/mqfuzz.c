// SPDX-License-Identifier: GPL-2.0
/*
 * mqfuzz: hostile callers of the mq generic netlink family and of
 * /dev/mq/NAME, for the debug lane (tests/debug.sh runs it beside trinity,
 * as root and as an unprivileged user).
 *
 * usage: mqfuzz [-t SECONDS] [-p PROCS] [-s SEED] [-q QUEUES]
 *
 * Each of PROCS processes, until SECONDS are up, either sends a random
 * generic netlink message to the family "mq" (any command, flags and
 * version; attributes well-formed for their type or not, of any type and
 * length, nested, truncated, names from a small pool or invalid), or
 * calls something on a /dev/mq/fzN queue of the pool: open, read, write,
 * readv/writev with odd iovecs, blocking calls cut short by a timer,
 * poll, epoll, ioctls with any number and argument, mmap, lseek, fcntl,
 * dup, close; or sets up rings (odd sizes and flags), maps them (wrong
 * lengths, offsets, protections), writes garbage into their indexes and
 * records while entering them with any flags, and unmaps them. Ring fds
 * join the pool of fds, so every other call hits them too. Answers are read and thrown away. It checks nothing: the
 * kernel's console (KASAN, lockdep, UBSAN, WARN, ...) and the sanity test
 * afterwards do. Exit status 0 unless it could not run at all.
 */
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "mqtest.h"

#define MAXFDS		16
#define BUFSZ		(MQ_MAX_MSG_LIMIT + 8192)

static unsigned int seed;
static int family;
static int nqueues = 8;
static char *buf;

static unsigned int rnd(void)
{
	return rand_r(&seed);
}

static unsigned int below(unsigned int n)
{
	return n ? rnd() % n : 0;
}

static void on_alarm(int sig)
{
}

/* Results are of no interest: the kernel's console is. */
static void ignore(long ret)
{
	(void)ret;
}

/* Not a valid user address; volatile so the compiler does not object. */
static char *volatile bad_ptr = (char *)16;

/* Values that sit on the edges of what the family accepts. */
static uint64_t edge_value(void)
{
	static const uint64_t v[] = {
		0, 1, 2, 7, 64, 100, 1000, 4095, 4096, 4097, 65535, 65536,
		MQ_MAX_MSG_LIMIT - 1, MQ_MAX_MSG_LIMIT, MQ_MAX_MSG_LIMIT + 1,
		0777, 01000, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL,
		~0ULL, 1000, 1001, 65534,
	};

	if (below(4) == 0)
		return ((uint64_t)rnd() << 32) | rnd();
	return v[below(sizeof(v) / sizeof(v[0]))];
}

static void queue_name(char *name, size_t size)
{
	static const char *const bad[] = {
		"", ".", "..", ".hidden", "a/b", "a b", "\xe9t\xe9", "-", "_",
		"x*", "0123456789012345678901234567890123456789012345678901234567890123",
		"01234567890123456789012345678901234567890123456789012345678901234",
	};

	if (below(8))
		snprintf(name, size, "fz%u", below(nqueues));
	else
		snprintf(name, size, "%s", bad[below(sizeof(bad) / sizeof(bad[0]))]);
}

/* One attribute at @p (room @room): returns its aligned size, 0 if none. */
static size_t put_attr(char *p, size_t room, int depth)
{
	struct nlattr *a = (struct nlattr *)p;
	size_t len = 0, i;
	char name[80];
	uint64_t v;

	if (room < NLA_HDRLEN + 80)
		return 0;
	a->nla_type = below(6) ? 1 + below(MQ_A_MAX + 2) : rnd() & 0xffff;
	switch (below(6)) {
	case 0: /* string, maybe without its NUL, maybe the wrong type */
		queue_name(name, sizeof(name));
		len = strlen(name) + (below(4) != 0);
		memcpy(p + NLA_HDRLEN, name, len);
		if (below(2))
			a->nla_type = MQ_A_QUEUE_NAME;
		break;
	case 1:
		v = edge_value();
		len = 4;
		memcpy(p + NLA_HDRLEN, &v, 4);
		break;
	case 2:
		v = edge_value();
		len = 8;
		memcpy(p + NLA_HDRLEN, &v, 8);
		break;
	case 3: /* random bytes, any length */
		len = below(64);
		for (i = 0; i < len; i++)
			p[NLA_HDRLEN + i] = rnd();
		break;
	case 4: /* nested */
		if (depth < 3) {
			for (i = 0; i < 3; i++)
				len += put_attr(p + NLA_HDRLEN + len,
						room - NLA_HDRLEN - len, depth + 1);
			if (below(2))
				a->nla_type |= NLA_F_NESTED;
		}
		break;
	default: /* a plausible u32 setting */
		v = edge_value();
		len = 4;
		memcpy(p + NLA_HDRLEN, &v, 4);
		a->nla_type = MQ_A_QUEUE_MAX_MSG + below(6);
		break;
	}
	a->nla_len = NLA_HDRLEN + len;
	if (below(20) == 0)	/* lie about the length */
		a->nla_len = below(2) ? below(NLA_HDRLEN) : a->nla_len + 1 + below(300);
	return NLA_ALIGN(NLA_HDRLEN + len);
}

static void fuzz_netlink(int sk)
{
	char req[1024] __attribute__((aligned(8)));
	struct nlmsghdr *nlh = (struct nlmsghdr *)req;
	struct genlmsghdr *gh = NLMSG_DATA(nlh);
	size_t off = NLMSG_HDRLEN + GENL_HDRLEN;
	struct pollfd p = { .fd = sk, .events = POLLIN };
	unsigned int i, n;

	memset(req, 0, sizeof(req));
	nlh->nlmsg_type = below(30) ? family : below(0x40);
	nlh->nlmsg_flags = NLM_F_REQUEST | (below(4) ? NLM_F_ACK : 0);
	if (below(5) == 0)
		nlh->nlmsg_flags |= NLM_F_DUMP;
	if (below(20) == 0)
		nlh->nlmsg_flags |= rnd() & 0xffff;
	nlh->nlmsg_seq = rnd();
	gh->cmd = below(10) ? 1 + below(MQ_CMD_MAX) : below(256);
	gh->version = below(10) ? MQ_GENL_VERSION : below(256);
	n = below(8);
	for (i = 0; i < n; i++)
		off += put_attr(req + off, sizeof(req) - off, 0);
	nlh->nlmsg_len = off;
	if (below(30) == 0)
		nlh->nlmsg_len = below(off + 16);
	send(sk, req, below(30) ? off : below(off + 1), MSG_DONTWAIT);
	/* Drain the answers (dumps may take a few reads). */
	while (poll(&p, 1, below(3) ? 5 : 0) > 0 &&
	       recv(sk, buf, 65536, MSG_DONTWAIT) > 0)
		;
}

static int fds[MAXFDS];

static int pick_fd(void)
{
	int i = below(MAXFDS);

	if (fds[i] < 0 || below(8) == 0) {
		char path[96];
		static const int flags[] = { O_RDWR, O_RDONLY, O_WRONLY };

		if (fds[i] >= 0)
			close(fds[i]);
		snprintf(path, sizeof(path), MQT_DEV_DIR "fz%u", below(nqueues));
		fds[i] = open(path, flags[below(3)] | (below(4) ? O_NONBLOCK : 0));
	}
	return fds[i];
}

/* A blocking call is cut short by SIGALRM after up to 50 ms. */
static void arm(void)
{
	ualarm(1000 + below(50000), 0);
}

static void fuzz_chrdev(void)
{
	struct iovec iov[8];
	struct mq_info *info = (struct mq_info *)buf;
	struct pollfd p;
	struct epoll_event ev;
	unsigned int i, n, len;
	int fd = pick_fd(), ep;
	void *map;

	if (fd < 0)
		return;
	len = below(4) ? below(2048) : below(2) ? below(70000) : below(BUFSZ);
	arm();
	switch (below(14)) {
	case 0:
	case 1:
		ignore(write(fd, buf, len));
		break;
	case 2:
	case 3:
		ignore(read(fd, buf, len));
		break;
	case 4:
	case 5:
		n = 1 + below(8);
		for (i = 0; i < n; i++) {
			iov[i].iov_base = below(20) ? buf + below(4096) : bad_ptr;
			iov[i].iov_len = below(3) ? below(600) : 0;
		}
		ignore(below(2) ? writev(fd, iov, n) : readv(fd, iov, n));
		break;
	case 6:
		/* bad user pointers */
		ignore(below(2) ? write(fd, bad_ptr, 1 + below(64)) :
				  read(fd, bad_ptr, 1 + below(65536)));
		break;
	case 7:
		p.fd = fd;
		p.events = rnd();
		poll(&p, 1, below(20));
		break;
	case 8:
		ep = epoll_create1(0);
		if (ep < 0)
			break;
		ev.events = rnd() & (EPOLLIN | EPOLLOUT | EPOLLET | EPOLLONESHOT | EPOLLHUP | EPOLLRDHUP);
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		epoll_wait(ep, &ev, 1, below(20));
		close(ep);
		break;
	case 9:
		memset(buf, 0, 4096);
		info->size = below(3) ? sizeof(*info) : below(2) ? edge_value() : below(8192);
		if (below(6) == 0)
			info->flags = edge_value();
		if (below(6) == 0)
			info->reserved0 = rnd();
		ioctl(fd, below(4) ? MQ_IOC_INFO : rnd(), below(20) ? buf : bad_ptr);
		break;
	case 10:
		map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (map != MAP_FAILED)
			munmap(map, 4096);
		lseek(fd, rnd(), below(3));
		break;
	case 11:
		fcntl(fd, F_SETFL, below(2) ? O_NONBLOCK : 0);
		break;
	case 12:
		i = below(MAXFDS);
		if (fds[i] >= 0 && fds[i] != fd) {
			close(fds[i]);
			fds[i] = dup(fd);
		}
		break;
	default:
		i = below(MAXFDS);
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
	ualarm(0, 0);
}

/* Mapped ring regions, scribbled on while the kernel uses them. */
#define MAXMAPS		8
static struct {
	void *p;
	size_t len;
} maps[MAXMAPS];

static void scribble(void)
{
	unsigned int i = below(MAXMAPS), n;
	unsigned char *p = maps[i].p;

	if (!p)
		return;
	if (below(8) == 0) {
		munmap(p, maps[i].len);
		maps[i].p = NULL;
		return;
	}
	/* The control page's indexes, or any byte of the data area. */
	for (n = 1 + below(16); n; n--) {
		if (below(2))
			((unsigned int *)p)[16 * below(3)] = below(3) ? rnd() : edge_value();
		else
			p[below(maps[i].len)] = rnd();
	}
}

static void map_region(int rfd, unsigned long long off, size_t len, int prot)
{
	unsigned int i = below(MAXMAPS);
	void *p;

	if (below(10) == 0)	/* wrong length, offset or protection */
		len = below(2) ? len + 4096 * below(3) : 4096;
	if (below(10) == 0)
		off += 4096 * below(3);
	p = mmap(NULL, len, prot, below(10) ? MAP_SHARED : MAP_PRIVATE, rfd, off);
	if (p == MAP_FAILED)
		return;
	if (maps[i].p)
		munmap(maps[i].p, maps[i].len);
	maps[i].p = prot & PROT_WRITE ? p : NULL;
	maps[i].len = len;
	if (!(prot & PROT_WRITE))
		munmap(p, len);
}

/* Rings: setup with odd arguments, mappings, garbage in them, enter. */
static void fuzz_ring(void)
{
	static const unsigned int sizes[] = { 4096, 8192, 65536, 12345, 0, 1u << 31 };
	struct mq_ring_setup *rs = (struct mq_ring_setup *)buf;
	struct mq_ring_enter *e = (struct mq_ring_enter *)buf;
	int fd = pick_fd(), rfd;
	unsigned int i;

	if (fd < 0)
		return;
	if (below(3)) {
		/* enter on whatever fd, with any flags */
		memset(buf, 0, 4096);
		e->size = below(4) ? sizeof(*e) : edge_value();
		e->flags = below(4) ? below(16) & ~MQ_RING_ENTER_WAIT : edge_value();
		if (below(8) == 0)
			e->rx_tail = rnd();
		arm();
		ioctl(fd, MQ_IOC_RING_ENTER, below(20) ? buf : bad_ptr);
		ualarm(0, 0);
		scribble();
		return;
	}
	memset(buf, 0, 4096);
	rs->size = below(8) ? sizeof(*rs) : edge_value();
	rs->tx_size = sizes[below(6)];
	rs->rx_size = sizes[below(6)];
	if (below(10) == 0)
		rs->flags = edge_value();
	if (below(20) == 0)		/* out fields: must be zero */
		rs->rec_size = rnd();
	if (below(20) == 0)
		rs->features = edge_value();
	rfd = ioctl(fd, MQ_IOC_RING_SETUP, below(20) ? buf : bad_ptr);
	if (rfd < 0)
		return;
	if (rs->tx.region)
		map_region(rfd, rs->tx.mmap_off, rs->tx.region, PROT_READ | PROT_WRITE);
	if (rs->rx.region)
		map_region(rfd, rs->rx.mmap_off, rs->rx.region, PROT_READ | PROT_WRITE);
	map_region(rfd, rs->status_off, rs->status_len,
		   below(4) ? PROT_READ : PROT_READ | PROT_WRITE);
	/* Keep the ring fd among the fds: everything else hits it too. */
	i = below(MAXFDS);
	if (fds[i] >= 0)
		close(fds[i]);
	fds[i] = rfd;
}

static void worker(int id, time_t end)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK };
	unsigned long ops = 0;
	int sk, i;

	seed += id * 7919;
	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART: calls end EINTR */
	signal(SIGPIPE, SIG_IGN);
	sk = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (sk < 0 || bind(sk, (struct sockaddr *)&addr, sizeof(addr))) {
		perror("mqfuzz: netlink socket");
		_exit(1);
	}
	for (i = 0; i < MAXFDS; i++)
		fds[i] = -1;
	while (time(NULL) < end) {
		i = below(6);
		if (i < 2)
			fuzz_netlink(sk);
		else if (i == 2)
			fuzz_ring();
		else
			fuzz_chrdev();
		ops++;
		/* A new socket now and then: dumps left half-read. */
		if (below(500) == 0) {
			close(sk);
			sk = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
			if (sk < 0 || bind(sk, (struct sockaddr *)&addr, sizeof(addr)))
				_exit(1);
		}
	}
	printf("mqfuzz: worker %d (uid %d): %lu calls\n", id, (int)getuid(), ops);
	_exit(0);
}

int main(int argc, char **argv)
{
	int seconds = 30, procs = 4, c, i, status, rc = 0;
	struct mqt_nl nl;
	time_t end;

	seed = time(NULL) ^ getpid();
	while ((c = getopt(argc, argv, "t:p:s:q:")) != -1) {
		switch (c) {
		case 't': seconds = atoi(optarg); break;
		case 'p': procs = atoi(optarg); break;
		case 's': seed = strtoul(optarg, NULL, 0); break;
		case 'q': nqueues = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: mqfuzz [-t SECONDS] [-p PROCS] [-s SEED] [-q QUEUES]\n");
			return 2;
		}
	}
	if (nqueues < 1 || procs < 1) {
		fprintf(stderr, "mqfuzz: -q and -p must be at least 1\n");
		return 2;
	}
	if (mqt_nl_open(&nl)) {
		fprintf(stderr, "mqfuzz: no generic netlink family \"mq\" (module not loaded?)\n");
		return 1;
	}
	family = nl.family;
	mqt_nl_close(&nl);
	buf = mmap(NULL, BUFSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		perror("mqfuzz: mmap");
		return 1;
	}
	printf("mqfuzz: seed %u, %d processes, %d s, family %d, uid %d\n",
	       seed, procs, seconds, family, (int)getuid());
	fflush(stdout);
	end = time(NULL) + seconds;
	for (i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid == 0)
			worker(i, end);
		if (pid < 0) {
			perror("mqfuzz: fork");
			rc = 1;
		}
	}
	while (wait(&status) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			rc = 1;
	return rc;
}
