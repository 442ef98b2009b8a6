# SPDX-License-Identifier: GPL-2.0
#
# make            build mq.ko (against Debian 12's 6.1 headers), mqctl, mqbench
#                 and the tests into build/
# make check      run the whole test suite in a QEMU VM
# make check-debug  the same suite (and fuzzing, fault injection, kmemleak)
#                 on a debug kernel built from linux-source-6.1
# make vm         a shell inside the VM, module loaded, tools on PATH
# make demo       a scripted tour inside the VM
# make bench      mqbench inside the VM: table on stdout, build/bench.json;
#                 BASE=REV also runs the module and mqbench of git
#                 revision REV in the same boot, alternating with this
#                 tree cell by cell, and compares (BENCH_ARGS=
#                 passes mqbench options, e.g. "--only devmq,posix-mq")
# make install    install mq.ko, mqctl (man page, completion, mq.service),
#                 libmq (header, libraries, man pages, libmq.pc) on this host;
#                 PREFIX= and DESTDIR= as usual; make uninstall undoes it
# make dkms-install  register the module's source with DKMS instead
# make deb        Debian packages in build/deb
# make check-install  install those packages in a Debian 12 VM and reboot it
#
# KDIR=/path/to/kernel/build overrides the detected headers.

TOP      := $(CURDIR)
B        := $(TOP)/build
# tools/vm/kver.sh: the running kernel if its headers are here, else the
# newest -amd64 headers; the VM harness uses the same rule.
KVER     ?= $(shell $(TOP)/tools/vm/kver.sh)
KDIR     ?= /usr/src/linux-headers-$(KVER)
KSRC_TAR ?= /usr/src/linux-source-6.1.tar.xz

CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wno-unused-parameter
UCFLAGS  := $(CPPFLAGS) $(CFLAGS) $(WARN) -D_GNU_SOURCE -I$(TOP)/uapi -I$(TOP)/userspace/include
NL_CFLAGS := $(shell pkg-config --cflags libnl-genl-3.0 2>/dev/null)
NL_LIBS   := $(shell pkg-config --libs libnl-genl-3.0 2>/dev/null)

MQCTL_SRC  := $(wildcard tools/mqctl/*.c)
MQCTL_HDR  := $(wildcard tools/mqctl/*.h)
BENCH_SRC  := $(wildcard tools/mqbench/*.c)
TEST_SRC   := $(wildcard tests/*_test.c)
TEST_BINS  := $(patsubst tests/%.c,$(B)/tests/%,$(TEST_SRC))
# Not run by tests/run.sh: the debug lane's fuzzer (tests/debug.sh), the
# crash loop's load (tools/vm/crash-loop.sh), and the store's VM scenarios
# (backlog, dmtest, lifecycle: tools/vm/check-all.sh).
FUZZ_BINS  := $(B)/tests/mqfuzz $(B)/tests/crashload $(B)/tests/backlog $(B)/tests/dmtest \
	      $(B)/tests/lifecycle
EXAMPLES   := $(patsubst tools/examples/%.c,$(B)/examples/%,$(wildcard tools/examples/*.c))
LIBMQ_SRC  := $(wildcard userspace/libmq/*.c)
LIBMQ_HDR  := userspace/include/libmq.h uapi/linux/mq.h
LIBMQ_A    := $(B)/libmq.a
LIBMQ_SO   := $(B)/libmq.so.1
HARNESS    := $(B)/kselftest/kselftest_harness.h

.PHONY: all deps module userspace tests check check-debug vm demo bench install clean checkpatch sparse

all: module userspace tests

deps:
	@tools/vm/deps.sh all

module:
	@test -d "$(KDIR)" || { echo "make: kernel headers not found (KDIR=$(KDIR)); run 'tools/vm/deps.sh build' as root or set KDIR=" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(TOP) W=1 modules
	@mkdir -p $(B) && cp kmod/mq.ko $(B)/mq.ko

sparse:
	$(MAKE) -C $(KDIR) M=$(TOP) W=1 C=2 modules

userspace: $(LIBMQ_A) $(LIBMQ_SO) $(B)/mqctl $(B)/mqbench $(EXAMPLES)

# libmq: a static archive (linked into mqbench, the tests and the
# examples, so the VM needs no extra library) and a shared library with a
# versioned symbol map for installing.
$(LIBMQ_A): $(LIBMQ_SRC) $(LIBMQ_HDR)
	@mkdir -p $(B)/libmq
	$(CC) $(UCFLAGS) -fPIC -c -o $(B)/libmq/libmq.o userspace/libmq/libmq.c
	rm -f $@ && ar rcs $@ $(B)/libmq/libmq.o

$(LIBMQ_SO): $(LIBMQ_A) userspace/libmq/libmq.map
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libmq.so.1 -Wl,--version-script=userspace/libmq/libmq.map \
		-o $@ $(B)/libmq/libmq.o

$(B)/mqctl: $(MQCTL_SRC) $(MQCTL_HDR) uapi/linux/mq.h uapi/linux/mq_store.h
	@mkdir -p $(B)
	$(CC) $(UCFLAGS) $(NL_CFLAGS) $(LDFLAGS) -o $@ $(MQCTL_SRC) $(NL_LIBS)

$(B)/mqbench: $(BENCH_SRC) tools/mqbench/mqbench.h uapi/linux/mq.h uapi/linux/mq_store.h $(LIBMQ_A)
	@mkdir -p $(B)
	$(CC) $(UCFLAGS) $(NL_CFLAGS) -o $@ $(BENCH_SRC) $(LIBMQ_A) $(NL_LIBS) -lrt -lpthread

$(B)/examples/%: tools/examples/%.c uapi/linux/mq.h $(LIBMQ_A)
	@mkdir -p $(B)/examples
	$(CC) $(UCFLAGS) -o $@ $< $(LIBMQ_A)

# kselftest_harness.h comes from Debian's linux-source-6.1 at build time.
$(HARNESS):
	@test -f $(KSRC_TAR) || { echo "make: $(KSRC_TAR) missing: apt-get install linux-source-6.1" >&2; exit 1; }
	@mkdir -p $(B)/kselftest
	tar -xJf $(KSRC_TAR) -C $(B)/kselftest --strip-components=4 \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/tools/testing/selftests/kselftest.h
	@touch $@

tests: $(TEST_BINS) $(FUZZ_BINS)
$(TEST_BINS) $(FUZZ_BINS): $(LIBMQ_A)

$(B)/tests/dmtest $(B)/tests/lifecycle: tests/dmtest.h
$(B)/tests/%: tests/%.c tests/mqtest.h $(HARNESS) uapi/linux/mq.h uapi/linux/mq_store.h $(LIBMQ_A)
	@mkdir -p $(B)/tests
	$(CC) $(UCFLAGS) -Wno-sign-compare -Wno-missing-field-initializers -Wno-clobbered -I$(B)/kselftest $(NL_CFLAGS) -o $@ $< $(LIBMQ_A) $(NL_LIBS) -lpthread

# The VM targets install their own dependencies first (when root), then
# build in a fresh make so pkg-config sees freshly installed libraries.
VM_MODE_vm    := shell
VM_MODE_demo  := demo
VM_MODE_bench := bench

check:
	@tools/vm/deps.sh all
	@$(MAKE) --no-print-directory all
	tools/vm/check-all.sh

# The debug lane needs no Debian headers: mq.ko is built against the
# debug kernel's own tree (tools/vm/check-debug.sh).
check-debug:
	@tools/vm/deps.sh debug
	@$(MAKE) --no-print-directory userspace tests
	tools/vm/check-debug.sh

vm demo:
	@tools/vm/deps.sh all
	@$(MAKE) --no-print-directory all
	tools/vm/run.sh $(VM_MODE_$@)

bench:
	@tools/vm/deps.sh bench
	@$(MAKE) --no-print-directory all
ifdef BASE
	tools/vm/bench-base.sh $(BASE)
	VM_BENCH_BASE=$(B)/base tools/vm/run.sh bench $(BENCH_ARGS)
	tools/vm/bench-compare.sh $(B)/bench-base.json $(B)/bench.json "$(BASE)"
else
	tools/vm/run.sh bench $(BENCH_ARGS)
endif

# ---- install -------------------------------------------------------------
# PREFIX (default /usr/local) and DESTDIR are honoured everywhere; the
# module goes to DESTDIR/lib/modules/KVER/extra, and depmod runs only for
# an install into / (a staged install leaves the target's depmod to its
# package). make uninstall removes what make install wrote, with the same
# PREFIX and DESTDIR; a configuration file someone changed is kept.
PREFIX        ?= /usr/local
SBINDIR       ?= $(PREFIX)/sbin
LIBDIR        ?= $(PREFIX)/lib
LIBEXECDIR    ?= $(PREFIX)/lib/mq
INCLUDEDIR    ?= $(PREFIX)/include
DATADIR       ?= $(PREFIX)/share
MANDIR        ?= $(DATADIR)/man
PKGCONFIGDIR  ?= $(LIBDIR)/pkgconfig
COMPLETIONDIR ?= $(DATADIR)/bash-completion/completions
UNITDIR       ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR    ?= /etc
DKMSDIR       ?= /usr/src/mq-$(VERSION)
VERSION       := $(shell sed -n 's/^\#define MQCTL_VERSION[[:space:]]*"\(.*\)"/\1/p' tools/mqctl/mqctl.h)
PKG           := tools/packaging
SUBST         = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@SBINDIR@|$(SBINDIR)|g' \
		    -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' \
		    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g'
# man3 pages that are links (.so) to the page documenting them.
MAN3_LINKS    := mq_ring_init:mq_ring_open mq_ring_close:mq_ring_open \
		 mq_ring_submit:mq_ring_reserve mq_ring_submit_wait:mq_ring_reserve \
		 mq_ring_submit_durable:mq_ring_reserve mq_ring_tx_pending:mq_ring_reserve \
		 mq_ring_tx_durable:mq_ring_reserve mq_ring_wait:mq_ring_peek \
		 mq_ring_fill:mq_ring_peek mq_ring_release:mq_ring_peek
MAN3_PAGES    := $(notdir $(wildcard userspace/libmq/man/*.3)) $(foreach l,$(MAN3_LINKS),$(firstword $(subst :, ,$(l))).3)
DKMS_SRC      := Kbuild kmod/Kbuild $(filter-out %.mod.c,$(wildcard kmod/*.c kmod/*.h)) uapi/linux/mq.h uapi/linux/mq_store.h
# What each part installs (below DESTDIR), for uninstall.
FILES_mqctl   := $(SBINDIR)/mqctl $(MANDIR)/man8/mqctl.8 $(COMPLETIONDIR)/mqctl \
		 $(LIBEXECDIR)/mq-store $(UNITDIR)/mq.service
CONF_mqctl    := $(SYSCONFDIR)/mq/mq.conf:$(PKG)/mq.conf \
		 $(SYSCONFDIR)/modprobe.d/mq.conf:$(PKG)/modprobe-mq.conf
FILES_lib     := $(LIBDIR)/libmq.so.1
FILES_dev     := $(LIBDIR)/libmq.so $(LIBDIR)/libmq.a $(PKGCONFIGDIR)/libmq.pc \
		 $(INCLUDEDIR)/libmq.h $(INCLUDEDIR)/linux/mq.h $(INCLUDEDIR)/linux/mq_store.h \
		 $(addprefix $(MANDIR)/man3/,$(MAN3_PAGES))
FILES_module  := /lib/modules/$(KVER)/extra/mq.ko

.PHONY: uninstall install-module install-mqctl install-lib install-dev dkms-install dkms-uninstall install-dkms-src deb check-install

install: install-module install-mqctl install-lib install-dev
	@if [ -z "$(DESTDIR)" ]; then \
		echo "make install: done; next: modprobe mq (or systemctl enable --now mq.service, after naming a store in $(SYSCONFDIR)/mq/mq.conf)"; fi

# Not modules_install: that one puts the module under extra/kmod/, tries to
# sign it with a key Debian's headers do not have, and skips depmod for
# want of a System.map they do not have either.
install-module: module
	install -D -m 0644 $(B)/mq.ko $(DESTDIR)/lib/modules/$(KVER)/extra/mq.ko
	if [ -z "$(DESTDIR)" ]; then depmod -a $(KVER); fi

install-mqctl: $(B)/mqctl
	install -D -m 0755 $(B)/mqctl $(DESTDIR)$(SBINDIR)/mqctl
	install -D -m 0644 tools/mqctl/mqctl.8 $(DESTDIR)$(MANDIR)/man8/mqctl.8
	install -D -m 0644 tools/mqctl/mqctl.bash-completion $(DESTDIR)$(COMPLETIONDIR)/mqctl
	install -d $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(UNITDIR)
	$(SUBST) $(PKG)/mq-store >$(DESTDIR)$(LIBEXECDIR)/mq-store
	chmod 0755 $(DESTDIR)$(LIBEXECDIR)/mq-store
	$(SUBST) $(PKG)/mq.service.in >$(DESTDIR)$(UNITDIR)/mq.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/mq.service
	@# Configuration files: an existing one is the operator's, kept.
	@set -e; for c in $(CONF_mqctl); do dst=$(DESTDIR)$${c%%:*}; \
		if [ -e "$$dst" ]; then echo "make install: $$dst exists: kept"; \
		else echo "install -D -m 0644 $${c#*:} $$dst"; install -D -m 0644 $${c#*:} "$$dst"; fi; done
	-if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

install-lib: $(LIBMQ_SO)
	install -D -m 0644 $(LIBMQ_SO) $(DESTDIR)$(LIBDIR)/libmq.so.1
	-if [ -z "$(DESTDIR)" ]; then ldconfig; fi

install-dev: $(LIBMQ_A) $(LIBMQ_SO)
	install -D -m 0644 $(LIBMQ_A) $(DESTDIR)$(LIBDIR)/libmq.a
	ln -sf libmq.so.1 $(DESTDIR)$(LIBDIR)/libmq.so
	install -D -m 0644 userspace/include/libmq.h $(DESTDIR)$(INCLUDEDIR)/libmq.h
	install -D -m 0644 uapi/linux/mq.h $(DESTDIR)$(INCLUDEDIR)/linux/mq.h
	install -D -m 0644 uapi/linux/mq_store.h $(DESTDIR)$(INCLUDEDIR)/linux/mq_store.h
	install -d $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man3
	$(SUBST) $(PKG)/libmq.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/libmq.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/libmq.pc
	install -m 0644 userspace/libmq/man/*.3 $(DESTDIR)$(MANDIR)/man3/
	set -e; for f in $(MAN3_LINKS); do \
		echo ".so man3/$${f#*:}.3" >$(DESTDIR)$(MANDIR)/man3/$${f%%:*}.3; done

uninstall:
	@# Only the unit this installed, not a package's.
	-if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ] && \
		[ "$$(systemctl show -P FragmentPath mq.service)" = "$(UNITDIR)/mq.service" ]; then \
		systemctl disable --now mq.service; fi
	rm -f $(addprefix $(DESTDIR),$(FILES_mqctl) $(FILES_lib) $(FILES_dev) $(FILES_module))
	@set -e; for c in $(CONF_mqctl); do dst=$(DESTDIR)$${c%%:*}; \
		if [ -e "$$dst" ] && ! cmp -s "$$dst" $${c#*:}; then echo "make uninstall: $$dst was changed: kept"; \
		else rm -f "$$dst"; fi; done
	-rmdir $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(SYSCONFDIR)/mq 2>/dev/null
	-if [ -z "$(DESTDIR)" ]; then depmod -a $(KVER); ldconfig; \
		[ -d /run/systemd/system ] && systemctl daemon-reload; fi

# DKMS: the module's source under /usr/src/mq-VERSION with its dkms.conf;
# dkms then builds and installs it for this kernel and every later one.
install-dkms-src:
	set -e; for f in $(DKMS_SRC); do install -D -m 0644 $$f $(DESTDIR)$(DKMSDIR)/$$f; done
	$(SUBST) $(PKG)/dkms.conf.in >$(DESTDIR)$(DKMSDIR)/dkms.conf

dkms-install: install-dkms-src
	@test -z "$(DESTDIR)" || { echo "make dkms-install: DESTDIR is for packages (make deb); this registers with dkms on this host" >&2; exit 1; }
	@command -v dkms >/dev/null || { echo "make dkms-install: dkms not found: apt-get install dkms" >&2; exit 1; }
	if dkms status -m mq -v $(VERSION) | grep -q .; then dkms remove -m mq -v $(VERSION) --all; fi
	dkms add -m mq -v $(VERSION)
	@# Every kernel with headers, as the package does (77: not a 6.1 kernel).
	set -e; for k in $$(ls /lib/modules); do [ -e /lib/modules/$$k/build ] || continue; \
		dkms install -m mq -v $(VERSION) -k $$k || [ $$? -eq 77 ]; done

dkms-uninstall:
	-dkms remove -m mq -v $(VERSION) --all
	rm -rf $(DKMSDIR)

# Debian packages in build/deb: mq-dkms, mqctl, libmq1, libmq-dev.
deb:
	$(PKG)/deb/build-deb.sh $(VERSION)

# A real Debian 12 system in a VM installs the packages and survives a reboot.
check-install:
	@tools/vm/deps.sh install
	@$(MAKE) --no-print-directory deb
	MQ_DEB_DIR=$(B)/deb tools/vm/check-install.sh

checkpatch:
	tools/vm/checkpatch.sh

# Relative names for the targets above: "make build/mqbench".
build/%: FORCE
	@$(MAKE) --no-print-directory $(B)/$*

FORCE:

clean:
	-$(MAKE) -C $(KDIR) M=$(TOP) clean
	rm -rf $(B)
