#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: tools/vm/check-install.sh   (make check-install)
#
# Proves that mq's Debian packages install and work on a real Debian 12
# system, across a reboot:
#   1. tools/vm/debian-image.sh: the Debian 12 root file system (built once,
#      cached in /var/cache/mq-debian-image)
#   2. make deb: build/deb/{mq-dkms,mqctl,libmq1,libmq-dev}_VERSION_*.deb
#   3. a fresh ext4 root disk from a copy of that tree plus the packages and
#      tests/install/ (mke2fs -d, no loop mount), and a blank 256 MiB disk
#      for the store; scratch in build/vm/install/
#   4. QEMU (TCG, no network) boots Debian's kernel from the image; the
#      guest runs tests/install/guest-test.sh from mq-install-test.service:
#      boot 1 installs the packages (DKMS builds the module), formats the
#      store, has mq.service attach it, writes a durable message, reboots;
#      boot 2 checks it all came back by itself, reinstalls the packages
#      over themselves and purges them, then powers off
#   5. the results (the guest's second serial port) as a summary: each
#      check ok or FAIL with what it saw, and how long each phase took
# Exit status 0 only if every check passed, the guest reported it finished
# (with this run's token), QEMU ended by itself within the time limit and
# the console shows no kernel error.
#
# Environment:
#   MQ_DEB_DIR=DIR          use the .debs in DIR instead of running make deb
#                           (the Makefile target sets it after its own make deb)
#   MQ_INSTALL_TIMEOUT=SEC  the whole guest run, default 3600 (TCG: DKMS alone
#                           takes minutes)
#   MQ_KEEP=1               keep the disk images in build/vm/install/
#   VM_MEM (2048), VM_SMP (2), VM_QEMU
# Logs: build/vm/install/console.log (ttyS0: kernel and systemd),
# build/vm/install/ttyS1.log (the results), both kept.

set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

top=$VM_TOP
work=$VM_DIR/install
console=$work/console.log
results=$work/ttyS1.log
timeout=${MQ_INSTALL_TIMEOUT:-3600}
mem=${VM_MEM_INSTALL:-2048}
smp=${VM_SMP:-2}
store_size=256M

log() { printf 'check-install: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

case ${1:-} in
'') ;;
-h | --help)
	sed -n '4,/^$/{/^$/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
	exit 0
	;;
*) die "no arguments expected (see --help)" ;;
esac
[[ $timeout =~ ^[0-9]+$ && $timeout -gt 0 ]] || die "MQ_INSTALL_TIMEOUT must be a number of seconds"
((EUID == 0)) || die "needs root (debootstrap, and the disk image's files owned by root)"
for t in "$VM_QEMU" mke2fs truncate flock; do
	command -v "$t" >/dev/null || die "$t missing: tools/vm/deps.sh install"
done
for f in tests/install/guest-test.sh tests/install/ring-hello.c tests/install/mq-install-test.service; do
	[[ -r $top/$f ]] || die "$top/$f missing"
done

qemu_pid=
cleanup() {
	if [[ -n $qemu_pid ]] && kill -0 "$qemu_pid" 2>/dev/null; then
		log "killing QEMU (pid $qemu_pid)"
		kill -TERM "$qemu_pid" 2>/dev/null || true
		sleep 2
		kill -KILL "$qemu_pid" 2>/dev/null || true
		wait "$qemu_pid" 2>/dev/null || true
	fi
	if [[ ${MQ_KEEP:-0} != 1 ]]; then
		rm -rf --one-file-system "$work/rootfs" "$work/root.img" "$work/store.img"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t_start=$SECONDS
declare -A took=()

# ---- 1. the Debian image -----------------------------------------------------
t=$SECONDS
image=$("$top/tools/vm/debian-image.sh" | tail -n 1)
[[ -d $image/rootfs && -s $image/kver ]] || die "tools/vm/debian-image.sh gave no image ('$image')"
kver=$(cat "$image/kver")
kernel=$image/rootfs/boot/vmlinuz-$kver
initrd=$image/rootfs/boot/initrd.img-$kver
[[ -r $kernel && -r $initrd ]] || die "$image: no kernel or initrd for $kver"
took[image]=$((SECONDS - t))

# ---- 2. the packages -------------------------------------------------------------
t=$SECONDS
if [[ -n ${MQ_DEB_DIR:-} ]]; then
	debdir=$MQ_DEB_DIR
	log "packages from $debdir (MQ_DEB_DIR)"
else
	debdir=$top/build/deb
	log "make deb"
	make -C "$top" --no-print-directory deb >&2 || die "make deb failed"
fi
debs=()
for p in mq-dkms:all mqctl:amd64 libmq1:amd64 libmq-dev:amd64; do
	mapfile -t found < <(find "$debdir" -maxdepth 1 -name "${p%:*}_*_${p#*:}.deb" | sort)
	((${#found[@]} == 1)) || die "expected one ${p%:*}_VERSION_${p#*:}.deb in $debdir, found ${#found[@]}"
	debs+=("${found[0]}")
done
took[deb]=$((SECONDS - t))

# One VM at a time in this build directory (make check, make bench ...).
vm_lock

# ---- 3. the disks ------------------------------------------------------------------
t=$SECONDS
rm -rf --one-file-system "$work"
mkdir -p "$work"
log "root disk: copying $image/rootfs"
cp -a --reflink=auto "$image/rootfs" "$work/rootfs"
r=$work/rootfs
install -d -m 0700 "$r/root/mq-install"
install -d "$r/root/mq-install/debs"
install -m 0644 "${debs[@]}" "$r/root/mq-install/debs/"
install -m 0755 "$top/tests/install/guest-test.sh" "$r/root/mq-install/guest-test.sh"
install -m 0644 "$top/tests/install/ring-hello.c" "$r/root/mq-install/ring-hello.c"
# The unit as in this tree (the image has the version it was built with).
install -m 0644 "$top/tests/install/mq-install-test.service" "$r/etc/systemd/system/mq-install-test.service"
mkdir -p "$r/etc/systemd/system/multi-user.target.wants"
ln -sfn /etc/systemd/system/mq-install-test.service \
	"$r/etc/systemd/system/multi-user.target.wants/mq-install-test.service"
size_mb=$(($(du -sm --one-file-system "$r" | cut -f1) + 3072))
mke2fs -q -t ext4 -F -L mq-root -d "$r" "$work/root.img" "${size_mb}M" >&2 ||
	die "mke2fs -d failed"
rm -rf --one-file-system "$r"
truncate -s "$store_size" "$work/store.img"
took[disks]=$((SECONDS - t))
log "disks ready in ${took[disks]} s: root.img ${size_mb}M (sparse, $(du -sh "$work/root.img" | cut -f1) used), store.img $store_size (blank)"

# ---- 4. the VM ---------------------------------------------------------------------
token=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
append="root=/dev/vda rw console=ttyS0,115200 mqinstall.token=$token"
: >"$console"
: >"$results"
# shellcheck disable=SC2054 # commas inside one QEMU option
qemu=("$VM_QEMU" -name mq-install -accel tcg -cpu max -smp "$smp" -m "$mem"
	-nodefaults -no-user-config -display none
	-kernel "$kernel" -initrd "$initrd" -append "$append"
	-drive "file=$work/root.img,if=none,id=root,format=raw,$VM_DRIVE_OPTS"
	-device virtio-blk-pci,drive=root,serial=mq-root
	-drive "file=$work/store.img,if=none,id=store,format=raw,$VM_DRIVE_OPTS"
	-device virtio-blk-pci,drive=store,serial=mq-store
	-chardev "file,id=con,path=$console" -serial chardev:con
	-chardev "file,id=res,path=$results" -serial chardev:res
	-device virtio-rng-pci -nic none -pidfile "$work/qemu.pid")
printf '%q ' "${qemu[@]}" >"$work/cmdline"
echo >>"$work/cmdline"

log "booting Debian $kver under QEMU (TCG, ${mem}M, $smp CPUs, no network; limit $timeout s)"
log "  console: $console; results: $results"
t_boot=$SECONDS
"${qemu[@]}" </dev/null >"$work/qemu.out" 2>&1 &
qemu_pid=$!

# scan: note the markers that arrived since the last scan.
scan() {
	mapfile -t lines < <(tr -d '\r' <"$results")
	for ((i = shown; i < ${#lines[@]}; i++)); do
		l=${lines[i]}
		case $l in
		"BOOT "*)
			n=${l#BOOT }
			n=${n%% *}
			seen[boot$n]=${seen[boot$n]:-$SECONDS}
			log "$((SECONDS - t_start)) s: boot $n is up (unit started after $((SECONDS - t_boot)) s of VM time)"
			;;
		REBOOT)
			seen[reboot]=$SECONDS
			log "$((SECONDS - t_start)) s: phase 1 done, the guest reboots"
			;;
		"DONE "*)
			seen[done]=$SECONDS
			log "$((SECONDS - t_start)) s: the guest finished ($l), powering off"
			;;
		"CHECK FAIL "*) log "  ${l#CHECK }" ;;
		"TIME "*) log "  guest: $l s" ;;
		esac
	done
	shown=${#lines[@]}
}
# Follow the results port; note when each marker first shows.
declare -A seen=()
timed_out=
panicked=
shown=0
while kill -0 "$qemu_pid" 2>/dev/null; do
	if ((SECONDS - t_boot >= timeout)); then
		timed_out=1
		break
	fi
	scan
	if grep -q 'Kernel panic - not syncing' "$console" 2>/dev/null; then
		panicked=1
		break
	fi
	sleep 2
done
scan # what came in after the last scan, before QEMU ended
qemu_rc=0
if [[ -n $timed_out || -n $panicked ]]; then
	if [[ -n $timed_out ]]; then
		log "timeout after $timeout s: killing QEMU"
	else
		log "kernel panic on the console: killing QEMU"
	fi
	kill -TERM "$qemu_pid" 2>/dev/null || true
	sleep 2
	kill -KILL "$qemu_pid" 2>/dev/null || true
	wait "$qemu_pid" 2>/dev/null || true
	qemu_rc=124
	log "last lines of the console ($console):"
	tr -d '\r' <"$console" | tail -n 40 | sed 's/^/check-install:   | /' >&2
else
	wait "$qemu_pid" || qemu_rc=$?
fi
qemu_pid=
t_end=$SECONDS
if [[ -s $work/qemu.out ]]; then
	log "QEMU said:"
	sed 's/^/check-install:   | /' "$work/qemu.out" >&2
fi

# ---- 5. the summary --------------------------------------------------------------
pass=0
failed=0
echo
echo "make check-install: Debian 12 guest, kernel $kver, packages: ${debs[*]##*/}"
while IFS= read -r l; do
	case $l in
	"CHECK ok "*)
		pass=$((pass + 1))
		printf 'ok   %s\n' "${l#CHECK ok }"
		;;
	"CHECK FAIL "*)
		failed=$((failed + 1))
		printf 'FAIL %s\n' "${l#CHECK FAIL }"
		;;
	"LOG "*) printf '       | %s\n' "${l#LOG }" ;;
	"INFO "*) printf '     - %s\n' "${l#INFO }" ;;
	"BOOT "*) printf -- '-- boot %s\n' "${l#BOOT }" ;;
	REBOOT) printf -- '-- reboot\n' ;;
	esac
done < <(tr -d '\r' <"$results")

# Host-side checks: the end of the run.
hostcheck() { # hostcheck OK NAME DETAIL
	if [[ $1 == 1 ]]; then
		pass=$((pass + 1))
		printf 'ok   %s: %s\n' "$2" "$3"
	else
		failed=$((failed + 1))
		printf 'FAIL %s: %s\n' "$2" "$3"
	fi
}
echo "-- host"
done_line=$(tr -d '\r' <"$results" | grep '^DONE ' | tail -n 1 || true)
if [[ $done_line == "DONE rc=0 token=$token" ]]; then
	hostcheck 1 guest-done "the guest finished: rc=0"
elif [[ -z $done_line ]]; then
	hostcheck 0 guest-done "the guest never reported DONE (see $console)"
elif [[ $done_line != *" token=$token" ]]; then
	hostcheck 0 guest-done "a DONE line without this run's token: '$done_line'"
else
	hostcheck 0 guest-done "the guest finished with ${done_line#DONE }"
fi
if [[ -n ${seen[boot1]:-} && -n ${seen[reboot]:-} && -n ${seen[boot2]:-} && -z ${seen[boot3]:-} ]]; then
	hostcheck 1 reboot "two boots on the same disks, one reboot between them"
else
	n=0
	for k in "${!seen[@]}"; do [[ $k == boot* ]] && n=$((n + 1)); done
	hostcheck 0 reboot "expected boot 1, a reboot, boot 2; saw $n boot(s), ${seen[reboot]:+a}${seen[reboot]:-no} reboot"
fi
if [[ -n $timed_out ]]; then
	hostcheck 0 qemu "killed after the $timeout s limit"
elif [[ -n $panicked ]]; then
	hostcheck 0 qemu "killed after a kernel panic"
elif ((qemu_rc != 0)); then
	hostcheck 0 qemu "QEMU exited with status $qemu_rc"
else
	hostcheck 1 qemu "the guest powered off by itself"
fi
# Kernel errors on the console (as the other VM tests); the console line
# of the kernel command line does not count.
bad=$(tr -d '\r' <"$console" | grep -nE "$VM_FAIL_RE" | grep -v 'Command line:\|Kernel command line:' | head -n 10 || true)
if [[ -z $bad ]]; then
	hostcheck 1 console "no kernel error on the console"
else
	hostcheck 0 console "kernel errors on the console ($console):"
	while IFS= read -r l; do printf '       | %s\n' "$l"; done <<<"$bad"
fi

# How long each phase took (host clock).
phase() { # phase FROM TO: seconds between two markers, or "-"
	if [[ -n ${1:-} && -n ${2:-} ]]; then echo "$(($2 - $1)) s"; else echo "-"; fi
}
guest_time() { tr -d '\r' <"$results" | sed -n "s/^TIME $1 \([0-9]*\)$/\1 s/p" | tail -n 1; }
echo
echo "times: image ${took[image]} s, packages ${took[deb]} s, disks ${took[disks]} s," \
	"boot 1 $(phase "$t_boot" "${seen[boot1]:-}")," \
	"phase 1 $(phase "${seen[boot1]:-}" "${seen[reboot]:-${seen[done]:-}}") (apt-get install $(guest_time apt-install || true))," \
	"reboot and boot 2 $(phase "${seen[reboot]:-}" "${seen[boot2]:-}")," \
	"phase 2 $(phase "${seen[boot2]:-}" "${seen[done]:-}")," \
	"power off $(phase "${seen[done]:-}" "$t_end")," \
	"VM $((t_end - t_boot)) s, total $((SECONDS - t_start)) s"
echo "$pass passed, $failed failed"
((failed == 0 && pass > 0))
