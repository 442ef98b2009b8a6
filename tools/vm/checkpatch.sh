#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# checkpatch.pl --strict on the kernel sources, with checkpatch taken from
# Debian's linux-source-6.1 at run time (never copied into the tree).
# Exit status: checkpatch's (non-zero on any error, warning or check).

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

tar=${KSRC_TAR:-/usr/src/linux-source-6.1.tar.xz}
dir=build/checkpatch
cp=$dir/linux-source-6.1/scripts/checkpatch.pl

if [[ ! -f $cp ]]; then
	[[ -f $tar ]] || { echo "checkpatch: $tar missing: apt-get install linux-source-6.1" >&2; exit 1; }
	mkdir -p "$dir"
	tar -xJf "$tar" -C "$dir" linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
fi

files=(kmod/*.c kmod/*.h uapi/linux/*.h)
files=("${files[@]/kmod\/mq.mod.c/}")
rc=0
for f in "${files[@]}"; do
	[[ -n $f ]] || continue
	perl "$cp" --no-tree --strict --terse --show-types -f "$f" |
		grep -v '^total: 0 errors, 0 warnings, 0 checks' || true
	perl "$cp" --no-tree --strict --quiet -f "$f" >/dev/null || rc=1
done
((rc == 0)) && echo "checkpatch --strict: ${#files[@]} files clean"
exit $rc
