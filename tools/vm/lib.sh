# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# tools/vm/lib.sh: the QEMU harness, as functions. Sourced by tools/vm/run.sh
# and by scenario scripts that boot several VMs at once.
#
#   vm_build_initramfs             pack build/vm/initramfs.cpio.gz (shared by all VMs)
#   vm_start ID MODE [DISK] [TAP]  boot a VM in the background
#   vm_wait ID [TIMEOUT]           wait for it to end; kill QEMU on timeout (rc 124)
#   vm_kill ID [SIGNAL]            kill its QEMU process (a host crash), default KILL
#   vm_monitor ID CMD...           QEMU monitor commands (stop, cont, sendkey ...)
#   vm_check ID                    did it pass? (token, guest rc, kernel errors)
#   vm_scan_console ID             kernel errors on its console?
#   vm_guest_rc ID                 the guest's exit status, if it reported one
#   vm_fetch ID NAME DEST          a file the guest sent back (send_file in /init)
#   vm_net_create [NS]             network namespace + bridge (no route out)
#   vm_net_tap TAP                 a tap on that bridge, for vm_start
#   vm_net_link TAP up|down        partition / heal one VM
#   vm_net_destroy                 remove the namespace
#   vm_lock                        one harness run per build directory
#   vm_cleanup                     kill every VM still running, remove the netns
#
# Environment (defaults below): BUILD_DIR, KVER, VM_KERNEL, VM_MODDIR,
# VM_PVH, VM_MEM, VM_SMP, VM_CONSOLE, VM_APPEND, VM_LOGLEVEL, VM_SH,
# VM_EXTRA_BINS, VM_MODULES, VM_EXTRA_MODULES, VM_FAIL_RE, VM_BENIGN_RE,
# VM_TIMEOUT_DUMP, MQ_KO, MQ_ALLOW_NO_MODULE, TESTS_RUNNER, DEMO_SCRIPT,
# DEBUG_RUNNER, VM_DRIVE_OPTS; per vm_start: VM_ARGS, VM_IP.
#
# Per VM ID: console log build/vm-ID.log; QEMU pid file, the second serial
# port's output (ttyS1.log: results and files sent back) and the scratch
# disk image in build/vm/ID/.
#
# The guest side is tools/vm/init (the initramfs's /init).

# ---- configuration (environment) ----------------------------------------

VM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VM_B=${BUILD_DIR:-$VM_TOP/build}
VM_DIR=$VM_B/vm

# The kernel is the one whose headers the module is built against (the
# Makefile's rule, in kver.sh).
if [[ -z ${KVER:-} ]]; then
	KVER=$("$VM_TOP/tools/vm/kver.sh")
fi
VM_KERNEL=${VM_KERNEL:-/boot/vmlinuz-$KVER}
VM_MODDIR=${VM_MODDIR:-/lib/modules/$KVER}
VM_INITRD=${VM_INITRD:-$VM_DIR/initramfs.cpio.gz}

VM_QEMU=${VM_QEMU:-qemu-system-x86_64}
VM_MEM=${VM_MEM:-1024}
VM_SMP=${VM_SMP:-2}
# QEMU -drive options of the VM's disk, after file, if, id and format.
VM_DRIVE_OPTS=${VM_DRIVE_OPTS:-cache=writeback,aio=threads}
# stdio: console live on our stdout (and in the log); file: log only.
VM_CONSOLE=${VM_CONSOLE:-file}
# Extra kernel command line, appended last (so it can override).
VM_APPEND=${VM_APPEND:-}
# Printk level shown on the console once /init runs (5: warnings and worse).
VM_LOGLEVEL=${VM_LOGLEVEL:-5}

# Artifacts packed into the initramfs (all from `make` unless overridden).
MQ_KO=${MQ_KO:-$VM_B/mq.ko}
TESTS_RUNNER=${TESTS_RUNNER:-$VM_TOP/tests/run.sh}
DEMO_SCRIPT=${DEMO_SCRIPT:-$VM_TOP/tools/vm/demo.sh}
DEBUG_RUNNER=${DEBUG_RUNNER:-$VM_TOP/tests/debug.sh}
# The guest's /bin/sh. Debian's busybox-static prefers its applets over
# PATH inside its own sh (a real /usr/bin/setpriv would never run from a
# script), so by default /bin/sh is dash, as on Debian, and the busybox
# applets are found through PATH like any program. "busybox" keeps ash.
# The interactive shell is busybox ash either way (line editing).
VM_SH=${VM_SH:-dash}
# Host programs to add, with their libraries, at the same path (replacing
# a busybox applet): names or paths. util-linux's setpriv because busybox's
# has no --reuid/--regid/--clear-groups, which the tests use.
VM_EXTRA_BINS=${VM_EXTRA_BINS:-setpriv dmsetup}

# Kernel modules loaded at boot, and modules only packed (for modprobe).
# Names as in modules.dep; '-' and '_' are the same. Missing or built-in
# modules are skipped (a debug kernel has its drivers built in).
VM_MODULES=${VM_MODULES:-virtio_pci virtio_blk virtio_net virtio_console virtio_rng \
loop dm_mod crc32c_generic crc32c_intel libcrc32c}
VM_EXTRA_MODULES=${VM_EXTRA_MODULES:-dm_log_writes dm_flakey dm_delay veth tun bridge}

# Console lines that fail a run, wherever they appear (except the kernel
# command line, which holds "panic_on_warn=1" and the like).
VM_FAIL_RE=${VM_FAIL_RE:-'Kernel panic|BUG:|WARNING:|Oops|general protection|Call Trace|KASAN|UBSAN|hung_task: blocked|blocked for more than|rcu_[a-z]+ self-detected stall|rcu_[a-z]+ detected stalls|possible circular locking|possible recursive locking|sleeping function called from invalid context|kernel BUG at|unreferenced object|list_(add|del) corruption'}

declare -gA VM_PID=()      # ID -> QEMU pid (children of this shell)
declare -gA VM_TOKEN=()    # ID -> secret token the guest echoes on success
declare -gA VM_TIMED_OUT=()
declare -gA VM_SCAN_LIMIT=() # ID -> console bytes to scan (set on a timeout)
VM_NETNS=
VM_BRIDGE=${VM_BRIDGE:-mqbr0}

vm_log() { printf 'vm: %s\n' "$*" >&2; }
vm_die() { vm_log "error: $*"; exit 1; }

vm_console_log() { printf '%s/vm-%s.log\n' "$VM_B" "$1"; }
vm_state_dir() { printf '%s/%s\n' "$VM_DIR" "$1"; }

# ---- initramfs ------------------------------------------------------------

_vm_root=

# _vm_install SRC DEST [MODE]: copy a host file into the initramfs.
_vm_install() {
	local dst=$_vm_root$2
	mkdir -p "$(dirname "$dst")"
	rm -f "$dst" # it may be a busybox applet link: replace, not write through
	cp -L "$1" "$dst"
	chmod "${3:-0755}" "$dst"
}

# _vm_add_libs FILE...: every shared library the ELF files need, and the
# dynamic loader, at the paths ldd reports.
_vm_add_libs() {
	local f out lib
	declare -A seen=()
	for f in "$@"; do
		# ldd fails on static binaries and scripts: nothing to add then.
		out=$(LC_ALL=C ldd "$f" 2>/dev/null) || continue
		if grep -q 'not found' <<<"$out"; then
			vm_die "$f: shared library missing on this host:"$'\n'"$(grep 'not found' <<<"$out")"
		fi
		while read -r lib; do
			[[ -n $lib && -z ${seen[$lib]:-} ]] || continue
			seen[$lib]=1
			[[ -e $_vm_root$lib ]] || _vm_install "$lib" "$lib" 0755
		done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$out")
	done
}

declare -gA _vm_modpath=() _vm_moddeps=() _vm_builtin=()
_vm_n=

# _vm_modname PATH-OR-NAME: sets _vm_n to the kernel module name ('-' is '_').
_vm_modname() {
	_vm_n=${1##*/}
	_vm_n=${_vm_n%%.ko*}
	_vm_n=${_vm_n//-/_}
}

_vm_read_moddep() {
	local line path
	while IFS= read -r line; do
		path=${line%%:*}
		_vm_modname "$path"
		_vm_modpath[$_vm_n]=$path
		_vm_moddeps[$_vm_n]=${line#*:}
	done <"$VM_MODDIR/modules.dep"
	if [[ -r $VM_MODDIR/modules.builtin ]]; then
		while IFS= read -r line; do
			_vm_modname "$line"
			_vm_builtin[$_vm_n]=1
		done <"$VM_MODDIR/modules.builtin"
	fi
}

# _vm_add_module NAME: NAME and everything it depends on (modules.dep lists
# the whole closure), decompressed.
_vm_add_module() {
	local n p dst
	_vm_modname "$1"
	n=$_vm_n
	if [[ -z ${_vm_modpath[$n]:-} ]]; then
		[[ -n ${_vm_builtin[$n]:-} ]] || vm_log "warning: kernel module $n not found in $VM_MODDIR, skipped"
		return 0
	fi
	for p in ${_vm_moddeps[$n]} "${_vm_modpath[$n]}"; do
		dst=$_vm_root/lib/modules/$KVER/${p%.ko*}.ko
		[[ -e $dst ]] && continue
		mkdir -p "$(dirname "$dst")"
		case $p in
		*.ko) cp "$VM_MODDIR/$p" "$dst" ;;
		*.ko.xz) xz -dc "$VM_MODDIR/$p" >"$dst" ;;
		*.ko.zst) zstd -qdc "$VM_MODDIR/$p" >"$dst" ;;
		*.ko.gz) gzip -dc "$VM_MODDIR/$p" >"$dst" ;;
		*) vm_die "unknown module format: $p" ;;
		esac
	done
}

# vm_build_initramfs: stage build/vm/root and pack it into $VM_INITRD.
vm_build_initramfs() {
	local f t t0=$SECONDS
	local -a bins=() mods=() deps=()

	[[ -n $KVER ]] || vm_die "no /usr/src/linux-headers-*-amd64: run tools/vm/deps.sh all"
	[[ -r $VM_KERNEL ]] || vm_die "kernel $VM_KERNEL missing: apt-get install linux-image-$KVER"
	command -v busybox >/dev/null || vm_die "busybox missing: apt-get install busybox-static"
	# Dynamic busybox (package busybox) would need its libraries: insist on static.
	if LC_ALL=C ldd "$(command -v busybox)" >/dev/null 2>&1; then
		vm_die "$(command -v busybox) is not static: apt-get install busybox-static"
	fi

	_vm_root=$VM_DIR/root
	rm -rf "$_vm_root"
	mkdir -p "$_vm_root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,mnt,var}
	mkdir -p "$_vm_root"/{home/mqtest,mq/bin,mq/tests,mq/examples}
	ln -s ../tmp "$_vm_root/var/tmp"
	ln -s ../run "$_vm_root/var/run"

	# busybox and a symlink per applet at its usual place.
	_vm_install "$(command -v busybox)" /bin/busybox
	while read -r f; do
		[[ $f == bin/busybox || -e $_vm_root/$f ]] || ln -s /bin/busybox "$_vm_root/$f"
	done < <(busybox --list-full)

	case $VM_SH in
	busybox) ;;
	dash)
		f=$(command -v dash) || vm_die "dash missing (VM_SH=busybox to use busybox sh)"
		_vm_install "$f" /bin/dash
		ln -sf dash "$_vm_root/bin/sh"
		bins+=("$f")
		;;
	*) vm_die "VM_SH must be dash or busybox" ;;
	esac
	_vm_install "$VM_TOP/tools/vm/init" /init

	# Users and groups: tests drop privileges to mqtest.
	cat >"$_vm_root/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		mqtest:x:1000:1000:mq test user:/home/mqtest:/bin/sh
		nobody:x:65534:65534:nobody:/nonexistent:/bin/false
	EOF
	cat >"$_vm_root/etc/group" <<-'EOF'
		root:x:0:
		tty:x:5:
		disk:x:6:
		mqtest:x:1000:
		mqgrp:x:1001:
		nogroup:x:65534:
	EOF
	printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n' >"$_vm_root/etc/nsswitch.conf"
	printf '127.0.0.1 localhost\n' >"$_vm_root/etc/hosts"
	cat >"$_vm_root/etc/profile" <<-'EOF'
		export PATH=/mq/bin:/mq/examples:/usr/sbin:/usr/bin:/sbin:/bin
		export HOME=${HOME:-/root}
		PS1='mqvm:\w\$ '
		cd /mq 2>/dev/null
	EOF

	# The module: at /mq/mq.ko, outside /lib/modules; its dependencies
	# (modinfo depends=) go into /lib/modules and are listed in /mq/mq.deps.
	read -ra mods <<<"$VM_MODULES $VM_EXTRA_MODULES"
	if [[ -f $MQ_KO ]]; then
		f=$(modinfo -F vermagic "$MQ_KO" 2>/dev/null) || vm_die "$MQ_KO: not a kernel module"
		[[ ${f%% *} == "$KVER" ]] || vm_die "$MQ_KO built for '${f%% *}', the VM boots $KVER: make clean; make"
		_vm_install "$MQ_KO" /mq/mq.ko 0644
		IFS=, read -ra deps <<<"$(modinfo -F depends "$MQ_KO")"
		printf '%s\n' "${deps[@]}" >"$_vm_root/mq/mq.deps"
		mods+=("${deps[@]}")
	elif [[ ${MQ_ALLOW_NO_MODULE:-0} == 1 ]]; then
		vm_log "WARNING: ****************************************************"
		vm_log "WARNING: $MQ_KO missing: the VM runs WITHOUT mq.ko"
		vm_log "WARNING: (MQ_ALLOW_NO_MODULE=1)"
		vm_log "WARNING: ****************************************************"
	else
		vm_die "$MQ_KO missing: run make (or MQ_ALLOW_NO_MODULE=1 to boot without it)"
	fi

	# Kernel modules, resolved with modules.dep, then a depmod for the subset
	# so that modprobe (busybox) works in the guest.
	mkdir -p "$_vm_root/lib/modules/$KVER"
	if [[ -r $VM_MODDIR/modules.dep ]]; then
		_vm_read_moddep
		for f in "${mods[@]}"; do
			_vm_add_module "$f"
		done
	else
		vm_log "no $VM_MODDIR/modules.dep: assuming the drivers are built in"
	fi
	for f in modules.builtin modules.builtin.modinfo modules.order; do
		if [[ -r $VM_MODDIR/$f ]]; then
			cp "$VM_MODDIR/$f" "$_vm_root/lib/modules/$KVER/"
		fi
	done
	depmod -b "$_vm_root" "$KVER" || vm_die "depmod failed"
	# Boot-time list for /init: only what is packed (not built-in ones).
	for f in $VM_MODULES; do
		_vm_modname "$f"
		if [[ -n ${_vm_modpath[$_vm_n]:-} ]]; then
			printf '%s\n' "$_vm_n"
		fi
	done >"$_vm_root/mq/boot.modules"

	# Userspace: tools, tests, examples, extra host binaries.
	for f in "$VM_B/mqctl" "$VM_B/mqbench"; do
		if [[ -x $f ]]; then
			_vm_install "$f" "/mq/bin/${f##*/}"
			ln -s "/mq/bin/${f##*/}" "$_vm_root/usr/bin/${f##*/}"
			bins+=("$f")
		else
			vm_log "warning: $f missing, not in the VM"
		fi
	done
	# bench against a baseline: its module and its own mqbench (the ABI
	# may differ), at /mq/base (tools/vm/bench-base.sh makes them).
	if [[ -n ${VM_BENCH_BASE:-} ]]; then
		for f in mq.ko mqbench; do
			[[ -f $VM_BENCH_BASE/$f ]] || vm_die "VM_BENCH_BASE: $VM_BENCH_BASE/$f missing"
		done
		_vm_install "$VM_BENCH_BASE/mq.ko" /mq/base/mq.ko 0644
		_vm_install "$VM_BENCH_BASE/mqbench" /mq/base/mqbench
		bins+=("$VM_BENCH_BASE/mqbench")
	fi
	for f in "$VM_B"/tests/* "$VM_B"/examples/*; do
		[[ -f $f && -x $f ]] || continue
		t=${f#"$VM_B"/}
		_vm_install "$f" "/mq/$t"
		bins+=("$f")
	done
	if [[ -f $TESTS_RUNNER ]]; then
		_vm_install "$TESTS_RUNNER" /mq/tests/run.sh
	else
		vm_log "warning: $TESTS_RUNNER missing: check mode will fail"
	fi
	if [[ -f $DEMO_SCRIPT ]]; then
		_vm_install "$DEMO_SCRIPT" /mq/demo.sh
	fi
	if [[ -f $DEBUG_RUNNER ]]; then
		_vm_install "$DEBUG_RUNNER" /mq/tests/debug.sh
	fi
	for f in $VM_EXTRA_BINS; do
		t=$(command -v "$f") || vm_die "VM_EXTRA_BINS: $f not found on this host"
		_vm_install "$t" "$t"
		bins+=("$t")
		# The interactive ash prefers applets: an alias wins over them.
		printf "alias %s='%s'\n" "${t##*/}" "$t" >>"$_vm_root/etc/profile"
	done
	_vm_add_libs "${bins[@]}"

	# Pack. Everything is owned by root in the guest; /init fixes /home/mqtest.
	(cd "$_vm_root" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$VM_INITRD.tmp"
	mv "$VM_INITRD.tmp" "$VM_INITRD"
	vm_log "initramfs $VM_INITRD ($(du -h "$VM_INITRD" | cut -f1), kernel $KVER) in $((SECONDS - t0)) s"
}

# vm_lock: one harness run at a time per build directory (the initramfs
# staging area and the logs are shared). Held until the shell exits.
vm_lock() {
	mkdir -p "$VM_DIR"
	exec {VM_LOCK_FD}>"$VM_DIR/.lock"
	if ! flock -n "$VM_LOCK_FD"; then
		vm_log "waiting for another VM run using $VM_DIR ..."
		flock "$VM_LOCK_FD"
	fi
}

# ---- running VMs ------------------------------------------------------------

# vm_boot_kernel: print the image QEMU should boot. Debian's vmlinuz is
# xz-compressed, and decompressing it under TCG takes about 3 s per boot;
# instead extract the ELF vmlinux once (cached in build/vm/) and boot it
# through its PVH entry point (CONFIG_PVH). VM_PVH=0 boots vmlinuz as is.
vm_boot_kernel() {
	local out=$VM_DIR/vmlinux-$KVER off=
	if [[ ${VM_PVH:-1} != 1 || $VM_KERNEL != "/boot/vmlinuz-$KVER" ]] ||
		! grep -qs '^CONFIG_PVH=y' "/boot/config-$KVER"; then
		printf '%s\n' "$VM_KERNEL"
		return 0
	fi
	if [[ ! -s $out || $VM_KERNEL -nt $out ]]; then
		mkdir -p "$VM_DIR"
		off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$VM_KERNEL" | LC_ALL=C awk -F: 'NR == 1 { print $1 }') || off=
		if [[ -z $off ]] ||
			! xz -dc --single-stream <(tail -c "+$((off + 1))" "$VM_KERNEL") >"$out.tmp" 2>/dev/null ||
			[[ $(head -c 4 "$out.tmp") != $'\x7fELF' ]]; then
			rm -f "$out.tmp"
			printf '%s\n' "$VM_KERNEL"
			return 0
		fi
		mv "$out.tmp" "$out"
	fi
	printf '%s\n' "$out"
}

# _vm_feed ID: stdin of a non-interactive `shell` run, fed to the guest
# console once the guest shell is ready (bytes sent earlier would be lost
# while the UART is set up), then ^D so that the shell exits at the end.
_vm_feed() {
	local id=$1 st
	st=$(vm_state_dir "$id")
	while ! grep -qa "^MQ-SHELL-READY" "$st/ttyS1.log" 2>/dev/null; do
		if [[ -s $st/qemu.pid ]] && ! kill -0 "$(cat "$st/qemu.pid")" 2>/dev/null; then
			return 0
		fi
		sleep 0.2
	done
	cat <&3
	printf '\n\004'
}

# vm_start ID MODE [DISK] [TAP]
#   ID    name of this VM (log build/vm-ID.log, state build/vm/ID/)
#   MODE  check|shell|demo|bench: what the guest's /init does
#   DISK  raw (or .qcow2) image attached as virtio disk /dev/vda, "" for none
#   TAP   tap device (vm_net_tap) for a virtio NIC eth0; QEMU then runs in
#         $VM_NETNS
# Environment: VM_ARGS (arguments for the mode's program, no double quotes),
# VM_IP (guest eth0 address, e.g. 10.77.0.11/24), VM_CONSOLE, VM_MEM,
# VM_SMP, VM_APPEND.
vm_start() {
	local id=$1 mode=$2 disk=${3:-} tap=${4:-}
	local st log token append mac fmt kernel rows cols
	local -a cmd=() pre=()

	[[ $id =~ ^[A-Za-z0-9_.-]+$ ]] || vm_die "bad VM id '$id'"
	[[ -f $VM_INITRD ]] || vm_die "$VM_INITRD missing: vm_build_initramfs first"
	[[ ${VM_ARGS:-} != *'"'* ]] || vm_die "VM_ARGS may not contain double quotes"
	if [[ -n ${VM_PID[$id]:-} ]] && kill -0 "${VM_PID[$id]}" 2>/dev/null; then
		vm_die "VM $id is already running (pid ${VM_PID[$id]})"
	fi

	st=$(vm_state_dir "$id")
	log=$(vm_console_log "$id")
	mkdir -p "$st"
	rm -f "$st/ttyS1.log" "$st/qemu.pid" "$st/mon.in" "$st/mon.out" "$log"
	: >"$st/ttyS1.log"
	mkfifo "$st/mon.in" "$st/mon.out"
	kernel=$(vm_boot_kernel)
	token=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
	VM_TOKEN[$id]=$token
	VM_TIMED_OUT[$id]=
	VM_SCAN_LIMIT[$id]=

	# Any WARN, oops, soft lockup or hung task panics, and a panic ends the
	# VM at once (panic=-1 reboots, -no-reboot makes QEMU exit).
	append="console=ttyS0,115200 panic=-1 oops=panic panic_on_warn=1 softlockup_panic=1"
	append+=" hung_task_panic=1 quiet rdinit=/init"
	append+=" mqvm.id=$id mqvm.mode=$mode mqvm.token=$token mqvm.loglevel=$VM_LOGLEVEL"
	[[ -n ${VM_IP:-} ]] && append+=" mqvm.ip=$VM_IP"
	if [[ $VM_CONSOLE == stdio && $mode == shell && -t 0 ]]; then
		# The serial console does not know the terminal's size: pass it.
		read -r rows cols < <(stty size 2>/dev/null || echo 0 0)
		((rows > 0 && cols > 0)) && append+=" mqvm.tty=${rows}x${cols}"
	fi
	[[ -n ${VM_ARGS:-} ]] && append+=" mqvm.args=\"$VM_ARGS\""
	[[ -n $VM_APPEND ]] && append+=" $VM_APPEND"

	cmd=("$VM_QEMU" -name "mq-$id" -accel tcg -cpu max -smp "$VM_SMP" -m "$VM_MEM"
		-nodefaults -no-user-config -display none -no-reboot
		-kernel "$kernel" -initrd "$VM_INITRD" -append "$append"
		-pidfile "$st/qemu.pid"
		-device virtio-rng-pci)

	# ttyS0: console. ttyS1: results back to the host (a plain file).
	if [[ $VM_CONSOLE == stdio && $mode == shell && -t 0 ]]; then
		# Interactive: ^C goes to the guest; ^A x quits, ^A c is the monitor.
		# shellcheck disable=SC2054 # commas inside one QEMU option
		cmd+=(-chardev "stdio,id=con,mux=on,signal=off,logfile=$log"
			-serial chardev:con -mon chardev=con,mode=readline)
	elif [[ $VM_CONSOLE == stdio ]]; then
		cmd+=(-chardev "stdio,id=con,logfile=$log" -serial chardev:con)
	else
		cmd+=(-chardev "file,id=con,path=$log" -serial chardev:con)
	fi
	cmd+=(-chardev "file,id=res,path=$st/ttyS1.log" -serial chardev:res)
	# A monitor on FIFOs for vm_monitor (QEMU opens them read-write).
	# shellcheck disable=SC2054
	cmd+=(-chardev "pipe,id=hmp,path=$st/mon" -mon chardev=hmp,mode=readline)

	if [[ -n $disk ]]; then
		[[ -e $disk ]] || vm_die "disk image $disk missing"
		fmt=raw
		[[ $disk == *.qcow2 ]] && fmt=qcow2
		cmd+=(-drive "file=$disk,if=none,id=d0,format=$fmt,$VM_DRIVE_OPTS"
			-device "virtio-blk-pci,drive=d0,serial=mq-$id")
	fi
	if [[ -n $tap ]]; then
		[[ -n $VM_NETNS ]] || vm_die "vm_start $id: a tap needs vm_net_create first"
		mac=$(printf '%s' "$id" | cksum | awk '{ printf "52:54:00:%02x:%02x:%02x", int($1/65536)%256, int($1/256)%256, $1%256 }')
		cmd+=(-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no"
			-device "virtio-net-pci,netdev=n0,mac=$mac,romfile=")
		# `ip netns exec` execs QEMU: the pid stays QEMU's own.
		pre=(ip netns exec "$VM_NETNS")
	fi

	printf '%q ' "${pre[@]}" "${cmd[@]}" >"$st/cmdline"
	echo >>"$st/cmdline"

	# Background jobs of a script get /dev/null as stdin: a shell session
	# passes the real stdin on fd 3.
	if [[ $VM_CONSOLE == stdio && $mode == shell ]]; then
		exec 3<&0
		if [[ -t 0 ]]; then
			"${pre[@]}" "${cmd[@]}" <&3 &
		else
			_vm_feed "$id" | "${pre[@]}" "${cmd[@]}" &
		fi
		exec 3<&-
	else
		"${pre[@]}" "${cmd[@]}" </dev/null &
	fi
	VM_PID[$id]=$!
}

# vm_monitor ID COMMAND...: HMP commands to the VM's QEMU, e.g.
# "stop", "cont", "set_link n0 off", "sendkey alt-sysrq-t". No reply is read
# (it goes to build/vm/ID/mon.out, a FIFO nobody drains: keep it to a few
# dozen commands per boot).
vm_monitor() {
	local id=$1 st fd
	shift
	st=$(vm_state_dir "$id")
	[[ -n ${VM_PID[$id]:-} && -p $st/mon.in ]] || return 1
	# Read-write open: never blocks, even if QEMU is gone.
	exec {fd}<>"$st/mon.in"
	printf '%s\n' "$@" >&"$fd"
	exec {fd}>&-
}

# _vm_dump_tasks ID: before a timeout kill, have the guest print every
# task's stack (sysrq t via the emulated keyboard) to see where it hangs.
# The console scan stops where the dump starts.
_vm_dump_tasks() {
	local id=$1 log size=-1 i
	log=$(vm_console_log "$id")
	VM_SCAN_LIMIT[$id]=$(stat -c %s "$log" 2>/dev/null || echo 0)
	[[ ${VM_TIMEOUT_DUMP:-1} == 1 ]] || return 0
	vm_log "$id: dumping the guest's tasks (sysrq t) to $log"
	vm_monitor "$id" "sendkey alt-sysrq-9" || return 0
	sleep 0.5
	vm_monitor "$id" "sendkey alt-sysrq-t" || return 0
	# Until the console stops growing (at most 20 s).
	for ((i = 0; i < 40; i++)); do
		sleep 0.5
		[[ $(stat -c %s "$log") != "$size" ]] || break
		size=$(stat -c %s "$log")
	done
}

# vm_wait ID [TIMEOUT]: wait until the VM's QEMU exits; 0 or empty TIMEOUT
# means no limit. On timeout the guest dumps its tasks (VM_TIMEOUT_DUMP=0:
# not), QEMU itself is killed and the status is 124; otherwise it is QEMU's
# exit status.
vm_wait() {
	local id=$1 timeout=${2:-0} pid=${VM_PID[$1]:-} start=$SECONDS rc=0
	[[ -n $pid ]] || vm_die "vm_wait: no VM $id"
	if ((timeout > 0)); then
		while kill -0 "$pid" 2>/dev/null; do
			if ((SECONDS - start >= timeout)); then
				vm_log "$id: timeout after ${timeout} s"
				VM_TIMED_OUT[$id]=1
				_vm_dump_tasks "$id"
				vm_log "$id: killing QEMU (pid $pid)"
				vm_kill "$id" TERM
				return 124
			fi
			sleep 0.5
		done
	fi
	wait "$pid" || rc=$?
	VM_PID[$id]=
	return "$rc"
}

# vm_kill ID [SIGNAL]: kill the VM's QEMU process (default SIGKILL, as a
# power cut) and reap it. TERM falls back to KILL after 5 s.
vm_kill() {
	local id=$1 sig=${2:-KILL} pid=${VM_PID[$1]:-} i
	[[ -n $pid ]] || return 0
	kill "-$sig" "$pid" 2>/dev/null || true
	if [[ $sig != KILL ]]; then
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	VM_PID[$id]=
}

# vm_guest_rc ID: the guest's exit status from its result line, if any.
vm_guest_rc() {
	local st
	st=$(vm_state_dir "$1")
	tr -d '\r' <"$st/ttyS1.log" |
		sed -n "s/^MQ-RESULT rc=\([0-9]*\) token=${VM_TOKEN[$1]}\$/\1/p" | tail -n 1
}

# The console scan: sets bad for a line matching VM_FAIL_RE, except the
# kernel command line and, after a line matching VM_BENIGN_RE (e.g. an
# injected allocation failure's warning), its stack dump up to </TASK>.
# shellcheck disable=SC2016 # awk's $0
_vm_scan_awk='
	{ bad = 0 }
	benign != "" && $0 ~ benign { quiet = 1 }
	quiet && /<\/TASK>/ { quiet = 0; next }
	!/mqvm[.]token=/ && $0 ~ re && !(quiet && /Call Trace/) { bad = 1 }'

# vm_scan_console ID: 0 if no kernel error (VM_FAIL_RE) is on the console;
# otherwise prints the first one in context, and the further error lines,
# sets VM_FAIL_WHY and returns 1. After a timeout only what came before the
# task dump is scanned.
vm_scan_console() {
	local id=$1 log bad text more
	log=$(vm_console_log "$id")
	text=$(head -c "${VM_SCAN_LIMIT[$id]:--0}" "$log" 2>/dev/null | tr -d '\r')
	bad=$(awk -v re="$VM_FAIL_RE" -v benign="${VM_BENIGN_RE:-}" "$_vm_scan_awk"' bad { print NR; exit }' <<<"$text")
	[[ -n $bad ]] || return 0
	VM_FAIL_WHY="kernel error on the console (line $bad of $log)"
	vm_log "$id: FAIL: $VM_FAIL_WHY:"
	sed -n "$((bad > 3 ? bad - 3 : 1)),$((bad + 20))p" <<<"$text" | sed 's/^/vm:   | /' >&2
	more=$(awk -v re="$VM_FAIL_RE" -v benign="${VM_BENIGN_RE:-}" -v from="$((bad + 21))" \
		"$_vm_scan_awk"' NR >= from && bad { print "vm:   | " $0; if (++n == 10) exit }' <<<"$text")
	if [[ -n $more ]]; then
		vm_log "$id: further error lines:"
		printf '%s\n' "$more" >&2
	fi
	return 1
}

# vm_check ID: 0 if the VM ended cleanly: result line with the right token,
# guest rc 0, no kernel error on the console, no timeout. Otherwise prints
# why and returns 1; VM_FAIL_WHY holds a one-line reason.
vm_check() {
	local id=$1 rc
	VM_FAIL_WHY=
	vm_scan_console "$id" || true
	rc=$(vm_guest_rc "$id")
	if [[ -n ${VM_TIMED_OUT[$id]:-} ]]; then
		VM_FAIL_WHY=${VM_FAIL_WHY:-"timeout: the VM was killed"}
		vm_log "$id: FAIL: timeout (see $(vm_console_log "$id"))"
	elif [[ -z $rc ]]; then
		VM_FAIL_WHY=${VM_FAIL_WHY:-"the VM ended without a result (crash or early reboot)"}
		vm_log "$id: FAIL: no result from the guest (see $(vm_console_log "$id"))"
	elif [[ $rc != 0 ]]; then
		VM_FAIL_WHY=${VM_FAIL_WHY:-"guest exit status $rc"}
		vm_log "$id: FAIL: guest exit status $rc"
	fi
	[[ -z $VM_FAIL_WHY ]]
}

# vm_fetch ID NAME DEST: extract file NAME that the guest sent on ttyS1
# (base64 between MQ-FILE-BEGIN/END lines carrying the token).
vm_fetch() {
	local id=$1 name=$2 dest=$3 st
	st=$(vm_state_dir "$id")
	tr -d '\r' <"$st/ttyS1.log" |
		awk -v b="MQ-FILE-BEGIN $name token=${VM_TOKEN[$id]}" -v e="MQ-FILE-END $name token=${VM_TOKEN[$id]}" '
			$0 == b { on = 1; found = 1; next }
			$0 == e { on = 0; done = 1; next }
			on { print }
			END { exit !(found && done) }' >"$dest.b64" || { rm -f "$dest.b64"; return 1; }
	base64 -d <"$dest.b64" >"$dest" || { rm -f "$dest.b64" "$dest"; return 1; }
	rm -f "$dest.b64"
}

# ---- networking for several VMs -----------------------------------------------
# One network namespace (no route out) with a bridge; a tap per VM on it.
# QEMU runs inside the namespace. The bridge has 10.77.0.1/24 so the host
# can reach guests with `ip netns exec $VM_NETNS ...`.

vm_net_create() {
	VM_NETNS=${1:-mqvm-$$}
	ip netns add "$VM_NETNS" || vm_die "cannot create network namespace $VM_NETNS"
	ip -n "$VM_NETNS" link set lo up
	ip -n "$VM_NETNS" link add "$VM_BRIDGE" type bridge
	ip -n "$VM_NETNS" addr add 10.77.0.1/24 dev "$VM_BRIDGE"
	ip -n "$VM_NETNS" link set "$VM_BRIDGE" up
}

# vm_net_tap TAP: a tap device on the bridge, for vm_start's TAP.
vm_net_tap() {
	ip -n "$VM_NETNS" tuntap add dev "$1" mode tap
	ip -n "$VM_NETNS" link set "$1" master "$VM_BRIDGE"
	ip -n "$VM_NETNS" link set "$1" up
}

# vm_net_link TAP up|down: partition a VM from the others, or heal.
vm_net_link() {
	ip -n "$VM_NETNS" link set "$1" "$2"
}

vm_net_destroy() {
	[[ -n $VM_NETNS ]] || return 0
	ip netns del "$VM_NETNS" 2>/dev/null || true
	VM_NETNS=
}

# vm_cleanup: for an EXIT trap. Kills what is still running.
vm_cleanup() {
	local id
	for id in "${!VM_PID[@]}"; do
		if [[ -n ${VM_PID[$id]} ]]; then
			vm_log "$id: killing QEMU (pid ${VM_PID[$id]})"
			vm_kill "$id" KILL
		fi
	done
	vm_net_destroy
}
