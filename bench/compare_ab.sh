#!/usr/bin/env bash
# Repeated profiles of two checkouts, taken in alternating rounds (BASE, NEW, BASE, NEW, …, a pause
# before each so one profile's file writes settle), into OUT/base/1…R and OUT/new/1…R, then
# `deno task compare OUT/base OUT/new`, which pools each side's profiles (a hierarchical bootstrap:
# profiles, then runs). NEW_CACHE_DIR, when set, is the NEW side's SELF_ATTENTION_PROFILER_CACHE_DIR
# (e.g. a worse tuning from bench/worse_tuning.ts). The results under
# bench/results/llvmpipe-2core-compare/ are six such rounds of one checkout against itself
# (`bench/compare_ab.sh . . /tmp/same 6`), and six profiles with the worse tuning, taken after
# them, compared with the same six BASE profiles.
#
#   bench/compare_ab.sh BASE_CHECKOUT NEW_CHECKOUT OUT [rounds = 6] [profile flags …]
#   (default flags: --seq-lens 10,100,1000 --runs 10)
set -euo pipefail
base=$(realpath "$1") new=$(realpath "$2") out=$3 rounds=${4:-6}
shift $(($# < 4 ? $# : 4))
flags=("$@")
[ ${#flags[@]} -gt 0 ] || flags=(--seq-lens 10,100,1000 --runs 10)
mkdir -p "$out/base" "$out/new"
out=$(realpath "$out")
for ((round = 1; round <= rounds; round++)); do
  sleep 3
  (cd "$base" && deno task profile "${flags[@]}" --quiet --out "$out/base/$round" >/dev/null)
  sleep 3
  (cd "$new" && env ${NEW_CACHE_DIR:+SELF_ATTENTION_PROFILER_CACHE_DIR="$NEW_CACHE_DIR"} \
    deno task profile "${flags[@]}" --quiet --out "$out/new/$round" >/dev/null)
  echo "round $round of $rounds done" >&2
done
(cd "$new" && deno task compare "$out/base" "$out/new")
