#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: tools/packaging/deb/build-deb.sh VERSION   (make deb)
#
# Builds mq's Debian packages from this tree with plain dpkg-deb, into
# build/deb/:
#   mq-dkms     the module's source and dkms.conf: DKMS builds mq.ko for
#               the running kernel and every kernel installed later
#   mqctl       mqctl, its man page and completion, mq.service and the
#               files under /etc it reads (conffiles)
#   libmq1      the shared library
#   libmq-dev   header files, libmq.so, libmq.a, libmq.pc, man pages
# The files come from `make install-* DESTDIR=...` (one list of what goes
# where: the Makefile), built with Debian's hardening flags in
# build/deb/obj. Then lintian, when installed, checks them with the
# overrides in this directory.

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
top=$PWD
pkgdir=$top/tools/packaging/deb

log() { printf 'build-deb: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[[ $# -eq 1 && -n $1 ]] || die "usage: $0 VERSION"
version=$1
for t in dpkg-deb dpkg-shlibdeps dpkg-buildflags dpkg-architecture; do
	command -v "$t" >/dev/null || die "$t not found: apt-get install dpkg-dev"
done
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

# Reproducible: every timestamp is the last commit's (or now, outside git).
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

out=$top/build/deb
obj=$out/obj
stage=$out/stage
rm -rf "$out"
mkdir -p "$obj" "$stage"

export DEB_BUILD_MAINT_OPTIONS=hardening=+all
flags=(CFLAGS="$(dpkg-buildflags --get CFLAGS)" CPPFLAGS="$(dpkg-buildflags --get CPPFLAGS)"
	LDFLAGS="$(dpkg-buildflags --get LDFLAGS)")
paths=(PREFIX=/usr LIBDIR=/usr/lib/"$multiarch" UNITDIR=/lib/systemd/system B="$obj")

log "building mqctl and libmq with Debian's build flags in $obj"
make --no-print-directory -s "${flags[@]}" B="$obj" "$obj/mqctl" "$obj/libmq.a" "$obj/libmq.so.1" >&2

# stage PKG TARGET...: install those parts into build/deb/stage/PKG.
stage() {
	local p=$1
	shift
	mkdir -p "$stage/$p"
	make --no-print-directory -s "${paths[@]}" DESTDIR="$stage/$p" "$@" >&2
}
stage mq-dkms install-dkms-src
stage mqctl install-mqctl
stage libmq1 install-lib
stage libmq-dev install-dev

# Debian's rules for the files themselves: stripped objects, man pages
# and changelogs gzip -9n, documentation and copyright per package.
strip_all() {
	local f
	while IFS= read -r -d '' f; do
		case $(file -b "$f") in
		*ELF*shared\ object*)
			strip --remove-section=.comment --remove-section=.note --strip-unneeded "$f" ;;
		*ELF*executable*)
			strip --remove-section=.comment --remove-section=.note "$f" ;;
		*ar\ archive*)
			strip --strip-debug --remove-section=.comment --remove-section=.note \
				--enable-deterministic-archives "$f" ;;
		esac
	done < <(find "$1" -type f -print0)
}
gzip_man() {
	local f
	while IFS= read -r -d '' f; do
		gzip -9n "$f"
	done < <(find "$1/usr/share/man" -type f -name '*.[0-9]' -print0 2>/dev/null)
}
changelog() {
	cat <<-EOT
	mq ($version) unstable; urgency=medium

	  * Built from the mq tree at $rev.

	 -- mq developers <dev@mq.invalid>  $(date -u -R -d "@$SOURCE_DATE_EPOCH")
	EOT
}

# control PKG ARCH DEPENDS DESCRIPTION-FILE [FIELDS]
control() {
	local p=$1 a=$2 deps=$3 desc=$4 extra=${5:-}
	local root=$stage/$p size
	size=$(du -sk --apparent-size "$root" | cut -f1)
	{
		echo "Package: $p"
		echo "Source: mq"
		echo "Version: $version"
		echo "Architecture: $a"
		echo "Maintainer: mq developers <dev@mq.invalid>"
		echo "Installed-Size: $size"
		[[ -n $deps ]] && echo "Depends: $deps"
		[[ -n $extra ]] && printf '%s\n' "$extra"
		echo "Section: $(sed -n 's/^Section: //p' "$desc")"
		echo "Priority: optional"
		sed '/^Section: /d' "$desc"
	} >"$root/DEBIAN/control"
}

# shlibdeps PKG: the Depends of its ELF files, as dpkg-shlibdeps finds them
# (libmq1's own shlibs file resolves libmq).
shlibdeps() {
	local p=$1 elfs=() f tmp
	while IFS= read -r -d '' f; do
		file -b "$f" | grep -q '^ELF' && elfs+=("-e$f")
	done < <(find "$stage/$p" -path "$stage/$p/DEBIAN" -prune -o -type f -print0)
	((${#elfs[@]})) || return 0
	tmp=$(mktemp -d)
	mkdir "$tmp/debian"
	printf 'Source: mq\n\nPackage: %s\nArchitecture: any\n' "$p" >"$tmp/debian/control"
	(cd "$tmp" && dpkg-shlibdeps -O -S"$stage/libmq1" "${elfs[@]}" 2>/dev/null) |
		sed -n 's/^shlibs:Depends=//p'
	rm -rf "$tmp"
}

for p in mq-dkms mqctl libmq1 libmq-dev; do
	root=$stage/$p
	strip_all "$root"
	gzip_man "$root"
	mkdir -p "$root/usr/share/doc/$p" "$root/DEBIAN"
	install -m 0644 "$pkgdir/copyright" "$root/usr/share/doc/$p/copyright"
	changelog | gzip -9n >"$root/usr/share/doc/$p/changelog.gz"
	if [[ -f $pkgdir/$p.lintian-overrides ]]; then
		install -D -m 0644 "$pkgdir/$p.lintian-overrides" "$root/usr/share/lintian/overrides/$p"
	fi
	for s in postinst prerm postrm triggers; do
		if [[ -f $pkgdir/$p.$s ]]; then
			sed "s|@VERSION@|$version|g" "$pkgdir/$p.$s" >"$root/DEBIAN/$s"
			case $s in triggers) chmod 0644 "$root/DEBIAN/$s" ;; *) chmod 0755 "$root/DEBIAN/$s" ;; esac
		fi
	done
done

# libmq1's shlibs: programs linked against libmq.so.1 depend on this version or later.
echo "libmq 1 libmq1 (>= $version)" >"$stage/libmq1/DEBIAN/shlibs"
(cd "$stage/mqctl" && find etc -type f | sed 's|^|/|' | sort) >"$stage/mqctl/DEBIAN/conffiles"

control mq-dkms all "dkms (>= 2.1.0.0)" "$pkgdir/mq-dkms.desc"
control mqctl "$arch" "$(shlibdeps mqctl), kmod, init-system-helpers (>= 1.54~)" "$pkgdir/mqctl.desc" \
	"Recommends: mq-dkms (= $version)"
control libmq1 "$arch" "$(shlibdeps libmq1)" "$pkgdir/libmq1.desc" "Multi-Arch: same"
control libmq-dev "$arch" "libmq1 (= $version), libc6-dev | libc-dev" "$pkgdir/libmq-dev.desc" "Multi-Arch: same"

for p in mq-dkms mqctl libmq1 libmq-dev; do
	root=$stage/$p
	(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
		xargs -0r md5sum) >"$root/DEBIAN/md5sums"
	chmod 0644 "$root/DEBIAN/md5sums" "$root/DEBIAN/control"
	[[ -f $root/DEBIAN/conffiles ]] && chmod 0644 "$root/DEBIAN/conffiles"
	[[ -f $root/DEBIAN/shlibs ]] && chmod 0644 "$root/DEBIAN/shlibs"
	find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	a=$(sed -n 's/^Architecture: //p' "$root/DEBIAN/control")
	dpkg-deb --root-owner-group -Zxz --build "$root" "$out/${p}_${version}_${a}.deb" >/dev/null
	log "built $out/${p}_${version}_${a}.deb"
done

if command -v lintian >/dev/null; then
	log "lintian (tools/packaging/deb/*.lintian-overrides)"
	lintian --fail-on error,warning "$out"/*.deb ||
		die "lintian found problems (above)"
else
	log "lintian not installed: not checked (apt-get install lintian)"
fi
