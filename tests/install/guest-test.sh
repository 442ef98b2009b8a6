#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: guest-test.sh   (run by mq-install-test.service at every boot)
#
# The guest side of make check-install (tools/vm/check-install.sh), on the
# Debian 12 system of tools/vm/debian-image.sh, in two phases across a
# reboot; the boot count is kept on the root disk, in
# /var/lib/mq-install-test.
#
#   boot 1  apt-get install the four packages in /root/mq-install/debs (no
#           network: their dependencies are in the image); DKMS built and
#           installed mq for the running kernel; modprobe; mqctl, its man
#           page and completion; libmq-dev: pkg-config, a program built
#           against it (ring-hello.c) runs; a store formatted on the
#           second disk (/dev/disk/by-id/virtio-mq-store),
#           named in /etc/mq/mq.conf, attached by systemctl restart
#           mq.service (as the README says); a durable (sync) queue
#           "jobs" holding "hello"; then reboot
#   boot 2  mq.service active and the store attached with no manual step,
#           detached cleanly at the shutdown; "jobs" is back and gives
#           "hello"; no errors in mq.service's journal or the kernel's;
#           the packages reinstalled over themselves (DKMS rebuilds, the
#           store stays attached), then purged (the store detached,
#           nothing left behind); then power off
#   boot 3+ something rebooted the guest once too often: fail, power off
#
# Results, one line each, on /dev/ttyS1 (the host keeps it in a file):
#   BOOT N KVER           at the start of each boot
#   CHECK ok NAME: WHAT   a check that passed, and what it saw
#   CHECK FAIL NAME: WHY  one that failed
#   LOG NAME: LINE        context for a failure (log tails)
#   INFO TEXT             something worth knowing, not a check
#   TIME STEP SECONDS     how long a step took, in the guest
#   REBOOT                phase 1 is over, the guest reboots
#   DONE rc=N token=T     the last line: N checks failed in all; T is the
#                         token from the kernel command line (mqinstall.token=)
# The steps' own output is in the journal (journalctl -u mq-install-test)
# and in /var/log/mq-install-test.log.

set -uo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
export DEBIAN_FRONTEND=noninteractive
umask 022

dir=/root/mq-install
state=/var/lib/mq-install-test
steplog=/var/log/mq-install-test.log
mqconf=/etc/mq/mq.conf
# As the README advises: a stable name, by udev, for the disk with serial
# mq-store (check-install.sh's second disk).
store_dev=/dev/disk/by-id/virtio-mq-store
# mqctl store attach names it by its real path.
store_real() { realpath -e "$store_dev" 2>/dev/null || echo "$store_dev"; }
msg=hello
mkdir -p "$state"

token=$(sed -n 's/.*mqinstall\.token=\([^ ]*\).*/\1/p' /proc/cmdline)
kver=$(uname -r)

# The results port: raw, so that the host reads exactly what was written.
stty -F /dev/ttyS1 raw -echo 2>/dev/null
emit() { printf '%s\n' "$*" >/dev/ttyS1; printf 'guest-test: %s\n' "$*"; }

fails=$(cat "$state/fails" 2>/dev/null || echo 0)
ok() { emit "CHECK ok $1: $2"; }
fail() {
	fails=$((fails + 1))
	printf '%s\n' "$fails" >"$state/fails"
	emit "CHECK FAIL $1: $2"
}
# show NAME TEXT: up to 25 lines of context for the host (LOG lines).
show() {
	local name=$1 line
	shift
	printf '%s\n' "$*" | tail -n 25 | while IFS= read -r line; do
		emit "LOG $name: $line"
	done
}
# check NAME WHAT CMD...: CMD must succeed; on failure its output is shown.
check() {
	local name=$1 what=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		ok "$name" "$what"
	else
		fail "$name" "$what: failed: $*"
		show "$name" "$out"
	fi
}
# run CMD...: output into the step log (and the journal), status kept.
run() {
	printf '+ %s\n' "$*" >>"$steplog"
	"$@" 2>&1 | tee -a "$steplog"
	return "${PIPESTATUS[0]}"
}
now() { cut -d' ' -f1 /proc/uptime; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }'; }

finish() {
	emit "DONE rc=$fails token=$token"
	sync
	systemctl --no-block poweroff
	exit 0
}

# mqctl store show's first line, or its error.
store_line() { timeout 30 mqctl store show 2>&1 | head -n 1; }

# The packages, as check-install.sh put them there, and their version.
mapfile -t debs < <(find "$dir/debs" -maxdepth 1 -name '*.deb' | sort)
version=
((${#debs[@]} == 0)) || version=$(dpkg-deb -f "${debs[0]}" Version)

boot=$(($(cat "$state/boot" 2>/dev/null || echo 0) + 1))
printf '%s\n' "$boot" >"$state/boot"
sync
emit "BOOT $boot $kver"

# ---- boot 1: install, configure, write, reboot -----------------------------
phase1() {
	local t p pkg st vers out line

	if ((${#debs[@]} != 4)); then
		fail debs "expected 4 .debs in $dir/debs, found ${#debs[@]}"
		finish
	fi
	emit "INFO packages: $(printf '%s ' "${debs[@]##*/}")"

	t=$(now)
	# As the README: apt resolves what they depend on (here, from what the
	# image holds: there is no network).
	if out=$(run timeout 3000 apt-get install -y "${debs[@]}"); then
		ok apt-install "apt-get install of the four packages succeeded ($(elapsed "$t") s)"
	else
		fail apt-install "apt-get install ./*.deb failed"
		show apt-install "$out"
	fi
	emit "TIME apt-install $(elapsed "$t")"
	for pkg in mq-dkms mqctl libmq1 libmq-dev; do
		st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null)
		vers=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null)
		if [[ $st == "ii " ]]; then
			ok "installed-$pkg" "$pkg $vers: ii"
		else
			fail "installed-$pkg" "$pkg: dpkg status '${st:-not installed}'"
		fi
	done
	if ! command -v mqctl >/dev/null; then
		fail mqctl-path "no mqctl on PATH: nothing more to test"
		finish
	fi

	# DKMS: built and installed for the running kernel.
	out=$(dkms status -m mq 2>/dev/null)
	if grep -Eq "^mq/$version, $kver, [^:]*: installed" <<<"$out"; then
		ok dkms-status "$(grep -E "^mq/$version, $kver" <<<"$out" | head -n 1)"
	else
		fail dkms-status "no 'mq/$version, $kver, ...: installed' in dkms status: '${out:-nothing}'"
		line=/var/lib/dkms/mq/$version/build/make.log
		[[ -r $line ]] && show dkms-status "$(cat "$line")"
	fi
	out=$(modinfo -F filename mq 2>&1)
	if [[ $out == /lib/modules/$kver/updates/dkms/mq.ko* || $out == /usr/lib/modules/$kver/updates/dkms/mq.ko* ]]; then
		ok modinfo "modinfo mq: $out"
	else
		fail modinfo "modinfo mq: expected /lib/modules/$kver/updates/dkms/mq.ko, got '$out'"
	fi
	emit "INFO mq.service after the install: $(systemctl is-active mq.service 2>&1), $(systemctl is-enabled mq.service 2>&1)"
	was_active=$(systemctl is-active mq.service 2>/dev/null)

	if out=$(modprobe mq 2>&1) && [[ -d /sys/module/mq ]]; then
		ok modprobe "modprobe mq: /sys/module/mq present (taint $(cat /sys/module/mq/taint 2>/dev/null), from $(modinfo -F filename mq 2>/dev/null))"
	else
		fail modprobe "modprobe mq failed or no /sys/module/mq: $out"
		show modprobe "$(dmesg | grep -E '(^|[] ])mq' | tail -n 20)"
		finish
	fi

	# mqctl and its documentation.
	check mqctl-version "$(mqctl --version 2>&1 | head -n 1)" mqctl --version
	out=$(man -w mqctl 2>&1)
	if [[ $out == /usr/share/man/man8/mqctl.8* ]]; then
		ok man-mqctl "man -w mqctl: $out"
	else
		fail man-mqctl "man -w mqctl: '$out'"
	fi
	if out=$(MANWIDTH=80 man -P cat 8 mqctl 2>&1) && grep -q 'mq.service' <<<"$out"; then
		ok man-render "man 8 mqctl renders ($(wc -l <<<"$out") lines)"
	else
		fail man-render "man 8 mqctl does not render"
		show man-render "$out"
	fi
	out=$(man -w 3 mq_ring_open 2>&1)
	if [[ $out == /usr/share/man/man3/mq_ring_open.3* ]]; then
		ok man-libmq "man -w 3 mq_ring_open: $out"
	else
		fail man-libmq "man -w 3 mq_ring_open: '$out'"
	fi
	p=/usr/share/bash-completion/completions/mqctl
	if [[ -f $p ]]; then
		ok completion-file "$p exists"
	else
		fail completion-file "$p missing"
	fi
	out=$(bash -c '. /usr/share/bash-completion/bash_completion; _completion_loader mqctl 2>/dev/null; complete -p mqctl' 2>&1)
	if [[ $out == complete* ]]; then
		ok completion-loads "bash-completion loads it: $out"
	else
		fail completion-loads "bash-completion does not load a completion for mqctl: '$out'"
	fi

	# libmq-dev: pkg-config and a program built against it.
	if out=$(pkg-config --cflags --libs libmq 2>&1); then
		ok pkg-config "pkg-config --cflags --libs libmq: '$out' (version $(pkg-config --modversion libmq))"
	else
		fail pkg-config "pkg-config --cflags --libs libmq: $out"
	fi
	# shellcheck disable=SC2046 # pkg-config's words
	if out=$(gcc -Wall -Wextra -Werror -o /tmp/ring-hello "$dir/ring-hello.c" $(pkg-config --cflags --libs libmq) 2>&1); then
		ok build-example "gcc ring-hello.c \$(pkg-config --cflags --libs libmq)"
	else
		fail build-example "ring-hello.c does not build against libmq-dev"
		show build-example "$out"
	fi
	# The library ldd resolves must be the file libmq1 installed (usrmerge
	# shows /lib/... for /usr/lib/...: compare real paths).
	out=$(ldd /tmp/ring-hello 2>&1 | grep libmq)
	p=$(awk '/libmq\.so\.1 =>/ {print $3}' <<<"$out")
	line=$(dpkg -L libmq1 2>/dev/null | grep '/libmq\.so\.1$' | head -n 1)
	if [[ -n $p && -n $line && $(realpath "$p") == "$(realpath "$line")" ]]; then
		ok ldd-libmq "ldd: $(tr -s ' \t' ' ' <<<"$out") (libmq1's $line)"
	else
		fail ldd-libmq "ring-hello does not link libmq1's ${line:-libmq.so.1}: '$out'"
	fi
	# shellcheck disable=SC2046
	if out=$(gcc -Wall -Werror -static -o /tmp/ring-hello-static "$dir/ring-hello.c" $(pkg-config --static --cflags --libs libmq) 2>&1); then
		ok build-static "gcc -static against libmq.a"
	else
		fail build-static "ring-hello.c does not link statically against libmq.a"
		show build-static "$out"
	fi
	if mqctl queue add ringtest >/dev/null 2>&1 &&
		out=$(timeout 30 /tmp/ring-hello /dev/mq/ringtest "ring hello" 2>&1) && [[ $out == "ring hello" ]]; then
		ok run-example "ring-hello sent through a TX ring and read back: '$out'"
	else
		fail run-example "ring-hello on a memory queue: '$out'"
	fi
	mqctl queue del ringtest >/dev/null 2>&1

	# The store on the second disk, named in mq.conf, attached by mq.service.
	p=$(store_real)
	out=$(cat "/sys/class/block/${p##*/}/serial" 2>/dev/null)
	if [[ $p != "$store_dev" && -b $p && $out == mq-store ]]; then
		ok store-disk "$store_dev is $p, the host's store disk (serial $out)"
	else
		fail store-disk "$store_dev -> '$p' serial '$out', expected a disk with serial mq-store"
	fi
	if [[ -f $mqconf ]]; then
		ok mq-conf-shipped "$mqconf shipped by mqctl ($(grep -c . "$mqconf") lines)"
	else
		fail mq-conf-shipped "$mqconf not shipped"
	fi
	# Blank: no force needed; force is the fallback and then a failure.
	if out=$(run timeout 120 mqctl store format "$store_dev" 2>&1); then
		ok store-format "mqctl store format $store_dev (blank, without force)"
	else
		fail store-format "mqctl store format $store_dev: $out"
		run timeout 120 mqctl store format "$store_dev" force
	fi
	printf 'store=%s\n' "$store_dev" >>"$mqconf"
	# As the README: the packages enabled and started mq.service (mqctl's
	# postinst, or mq-dkms's once the module is built); with no store named
	# it said so, and a restart attaches the one now named.
	if [[ $was_active == active ]]; then
		ok started-by-postinst "the packages' postinst started mq.service"
	else
		fail started-by-postinst "mq.service after the install: '$was_active'"
	fi
	line=$(journalctl -b -u mq.service --no-pager -q -o cat | grep -m 1 'memory queues only')
	if [[ -n $line ]]; then
		ok journal-no-store "with no store named the journal says: $line"
	else
		fail journal-no-store "no 'memory queues only' in mq.service's journal"
		show journal-no-store "$(journalctl -b -u mq.service --no-pager -q | tail -n 20)"
	fi
	check enabled "mq.service is enabled" test "$(systemctl is-enabled mq.service)" = enabled
	t=$(now)
	if out=$(run timeout 300 systemctl restart mq.service 2>&1); then
		ok restart "systemctl restart mq.service ($(elapsed "$t") s)"
	else
		fail restart "systemctl restart mq.service failed: $out"
		show restart "$(journalctl -b -u mq.service --no-pager -q | tail -n 20)"
	fi
	line=$(store_line)
	if [[ $line == "$(store_real): state ok"* ]]; then
		ok store-attached "the restart attached it: $line"
	else
		fail store-attached "mqctl store show: '$line'"
		show store-attached "$(journalctl -b -u mq.service --no-pager -q | tail -n 20)"
	fi

	# A durable queue with one message, for after the reboot.
	check queue-add "mqctl queue add jobs durability sync" timeout 60 mqctl queue add jobs durability sync
	# shellcheck disable=SC2016 # $1 is the inner shell's
	if out=$(timeout 60 sh -c 'printf %s "$1" >/dev/mq/jobs' sh "$msg" 2>&1); then
		ok write "wrote '$msg' to /dev/mq/jobs"
	else
		fail write "printf $msg >/dev/mq/jobs: $out"
	fi
	out=$(timeout 30 mqctl queue show jobs 2>&1)
	if grep -q 'durability sync' <<<"$out" && grep -q 'depth 1 msgs' <<<"$out"; then
		ok queue-before "$(tr -s ' \n' ' ' <<<"$out" | cut -c1-200)"
	else
		fail queue-before "mqctl queue show jobs: $(tr -s ' \n' ' ' <<<"$out" | cut -c1-300)"
	fi
	emit "INFO store before the reboot: $(timeout 30 mqctl store show 2>&1 | tr -s ' \n' ' ')"

	emit "TIME phase1 $(elapsed "$phase_t0")"
	emit REBOOT
	sync
	# mq.service's stop (mq-store stop) detaches the store on the way down.
	systemctl --no-block reboot
	exit 0
}

# ---- boot 2: everything came back on its own ---------------------------------
phase2() {
	local out line n t p st left ko before after cursor

	out=$(systemctl is-active mq.service 2>&1)
	if [[ $out == active ]]; then
		ok service-active "mq.service active at boot"
	else
		fail service-active "mq.service is '$out' at boot"
		show service-active "$(journalctl -b -u mq.service --no-pager -q | tail -n 20)"
	fi
	if [[ -d /sys/module/mq ]]; then
		ok module-loaded "mq loaded at boot (taint $(cat /sys/module/mq/taint 2>/dev/null), from $(modinfo -F filename mq 2>/dev/null))"
	else
		fail module-loaded "mq not loaded at boot"
	fi
	line=$(store_line)
	if [[ $line == "$(store_real): state ok"* ]]; then
		ok store-reattached "$line"
	else
		fail store-reattached "mqctl store show: '$line'"
	fi
	out=$(timeout 30 mqctl store show 2>&1)
	emit "INFO store after the reboot: $(tr -s ' \n' ' ' <<<"$out")"
	if grep -q 'clean-detach yes' <<<"$out"; then
		ok clean-detach "the shutdown detached the store cleanly: $(grep -o 'clean-detach [a-z]*.*' <<<"$out")"
	else
		fail clean-detach "store show: $(grep -o 'clean-detach.*' <<<"$out" || echo "no clean-detach field")"
	fi
	out=$(journalctl -b -1 -u mq.service --no-pager -q 2>&1)
	if grep -q 'store detached cleanly' <<<"$out"; then
		ok journal-shutdown "previous boot's journal: '$(grep 'store detached cleanly' <<<"$out" | tail -n 1 | cut -c1-160)'"
	else
		fail journal-shutdown "no 'store detached cleanly' in the previous boot's mq.service journal"
		show journal-shutdown "$out"
	fi

	out=$(timeout 30 mqctl queue show jobs 2>&1)
	if grep -q 'durability sync' <<<"$out" && grep -q 'depth 1 msgs' <<<"$out"; then
		ok queue-back "$(tr -s ' \n' ' ' <<<"$out" | cut -c1-200)"
	else
		fail queue-back "mqctl queue show jobs: $(tr -s ' \n' ' ' <<<"$out" | cut -c1-300)"
	fi
	# One read(2), non-blocking: one message, or EAGAIN.
	out=$(timeout 30 dd if=/dev/mq/jobs bs=65536 count=1 iflag=nonblock status=none 2>&1)
	if [[ $out == "$msg" ]]; then
		ok read-back "read /dev/mq/jobs: '$out'"
	else
		fail read-back "read /dev/mq/jobs: '$out', expected '$msg'"
	fi
	out=$(timeout 30 dd if=/dev/mq/jobs bs=65536 count=1 iflag=nonblock status=none 2>&1)
	if [[ $out == *"Resource temporarily unavailable"* ]]; then
		ok read-empty "a second read: EAGAIN (the queue is empty)"
	else
		fail read-empty "a second non-blocking read: '$out', expected EAGAIN"
	fi

	out=$(journalctl -b -u mq.service -p warning --no-pager -q 2>&1)
	if [[ -z $out ]]; then
		n=$(journalctl -b -u mq.service --no-pager -q | wc -l)
		ok journal-clean "no warnings or errors from mq.service in this boot ($n lines)"
	else
		fail journal-clean "mq.service logged warnings or errors"
		show journal-clean "$out"
	fi
	out=$(journalctl -b -1 -u mq.service -p warning --no-pager -q 2>&1)
	if [[ -z $out ]]; then
		ok journal-clean-boot1 "no warnings or errors from mq.service in boot 1"
	else
		fail journal-clean-boot1 "mq.service logged warnings or errors in boot 1"
		show journal-clean-boot1 "$out"
	fi
	# Upgrade in place (the same packages again): DKMS rebuilds the
	# module, the service and its store stay as they are.
	ko=/lib/modules/$kver/updates/dkms/mq.ko
	before=$(stat -c %Y "$ko" 2>/dev/null || echo 0)
	sleep 1 # a rebuilt module's mtime differs by at least a second
	t=$(now)
	if out=$(run timeout 3000 apt-get install -y --reinstall "${debs[@]}"); then
		ok reinstall "apt-get install --reinstall of the four packages ($(elapsed "$t") s)"
	else
		fail reinstall "apt-get install --reinstall failed"
		show reinstall "$out"
	fi
	emit "TIME reinstall $(elapsed "$t")"
	out=$(dkms status -m mq 2>/dev/null)
	after=$(stat -c %Y "$ko" 2>/dev/null || echo 0)
	if grep -Eq "^mq/$version, $kver, [^:]*: installed" <<<"$out" && [[ $(grep -c . <<<"$out") == 1 ]] &&
		((after > before)); then
		ok reinstall-dkms "$out; $ko rebuilt (mtime $before -> $after)"
	else
		fail reinstall-dkms "after the reinstall: dkms status '${out:-nothing}', $ko mtime $before -> $after"
	fi
	line=$(store_line)
	if [[ $(systemctl is-active mq.service) == active && $line == "$(store_real): state ok"* ]]; then
		ok reinstall-store "mq.service active, store still attached: $line"
	else
		fail reinstall-store "after the reinstall: mq.service $(systemctl is-active mq.service), store: '$line'"
	fi

	# Purge: the store is detached first, and nothing is left behind.
	cursor=$(journalctl -n 0 --show-cursor --no-pager -q 2>/dev/null | sed -n 's/^-- cursor: //p')
	t=$(now)
	if out=$(run timeout 600 apt-get purge -y mqctl mq-dkms libmq-dev libmq1); then
		ok purge "apt-get purge of the four packages ($(elapsed "$t") s)"
	else
		fail purge "apt-get purge failed"
		show purge "$out"
	fi
	out=$(journalctl -b -u mq.service --after-cursor="$cursor" --no-pager -q -o cat 2>&1 |
		grep 'store detached cleanly' | tail -n 1)
	if [[ -n $out ]]; then
		ok purge-detach "the removal stopped mq.service: '$out'"
	else
		fail purge-detach "no 'store detached cleanly' in mq.service's journal since the purge began"
	fi
	left=()
	for p in /var/lib/dkms/mq /usr/src/mq-"$version" /etc/mq /etc/modprobe.d/mq.conf \
		/usr/sbin/mqctl /usr/share/man/man8/mqctl.8.gz /usr/include/linux/mq.h \
		/etc/systemd/system/multi-user.target.wants/mq.service; do
		[[ -e $p || -L $p ]] && left+=("$p")
	done
	mapfile -t -O "${#left[@]}" left < <(find /lib/modules/"$kver" /usr/lib/x86_64-linux-gnu \
		\( -name 'mq.ko*' -o -name 'libmq.*' \) 2>/dev/null)
	if ((${#left[@]} == 0)); then
		ok purge-clean "nothing of mq left: no DKMS tree, source, module, /etc/mq, unit link or library"
	else
		fail purge-clean "left after the purge: ${left[*]}"
	fi
	st=$(dpkg-query -W -f='${db:Status-Abbrev} ' mqctl mq-dkms libmq1 libmq-dev 2>/dev/null)
	if [[ -z ${st// /} || $st =~ ^((un|pn) +)+$ ]]; then
		ok purge-status "dpkg knows none of them any more ('${st:-}')"
	else
		fail purge-status "dpkg status after the purge: '$st'"
	fi

	out=$( {
		journalctl -k -b -1 --no-pager -q
		journalctl -k -b 0 --no-pager -q
	} 2>/dev/null | grep -E 'WARNING:|BUG:|Oops|Call Trace|general protection|mq: .*(error|fail)' |
		grep -v 'module verification failed' || true)
	if [[ -z $out ]]; then
		ok kernel-clean "no kernel warnings in either boot's kernel log"
	else
		fail kernel-clean "the kernel logged problems"
		show kernel-clean "$out"
	fi
	out=$(journalctl -k -b 0 --no-pager -q 2>/dev/null | grep -E '(^| )mq: ' | head -n 5)
	[[ -z $out ]] || emit "INFO the kernel about mq: $(tr '\n' '|' <<<"$out")"
	out=$(journalctl -b -p err --no-pager -q 2>&1 | tail -n 5)
	[[ -z $out ]] || emit "INFO other errors in this boot's journal: $(tr '\n' '|' <<<"$out")"
	emit "TIME phase2 $(elapsed "$phase_t0")"
	finish
}

phase_t0=$(now)
emit "INFO uptime at start: $phase_t0 s; systemd: $(systemctl is-system-running 2>&1)"
case $boot in
1) phase1 ;;
2) phase2 ;;
*)
	fail boot-count "boot $boot: the guest rebooted more than once"
	finish
	;;
esac
