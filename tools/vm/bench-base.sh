#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: tools/vm/bench-base.sh REV
#
# Builds the baseline for `make bench BASE=REV`: the module and mqbench of
# git revision REV (a commit, tag or branch of this repository), from a
# git archive of it in build/base-src, into build/base/ (mq.ko, mqbench,
# REV). tools/vm/run.sh bench then runs both in the same VM boot, cell
# by cell in turn (tools/vm/init), each with its own mqbench (the ABI
# may differ), and
# tools/vm/bench-compare.sh sets them side by side.

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

[[ $# -eq 1 ]] || { echo "usage: $0 REV" >&2; exit 2; }
rev=$(git rev-parse --verify --quiet "$1^{commit}") ||
	{ echo "bench-base: $1: no such commit in this repository" >&2; exit 1; }
src=build/base-src
out=build/base
rm -rf "$src" "$out"
mkdir -p "$src" "$out"
git archive "$rev" | tar -x -C "$src"
echo "bench-base: building $1 ($(git rev-parse --short "$rev")) in $src" >&2
make -C "$src" --no-print-directory module build/mqbench >"$out/build.log" 2>&1 ||
	{ echo "bench-base: the build of $1 failed: $out/build.log" >&2; exit 1; }
cp "$src/build/mq.ko" "$src/build/mqbench" "$out/"
echo "$1 $(git rev-parse --short "$rev")" >"$out/REV"
