#!/usr/bin/env bash
# The whole `deno task profile` of two checkouts, timed in alternating rounds (noise on a shared
# machine comes in bursts, so A and B take turns). Prints each run's seconds and the median ratio
# B/A. Every run validates its GPU outputs as the profile always does.
#
#   bench/profile_ab.sh OLD_CHECKOUT NEW_CHECKOUT [rounds = 3] [profile flags …]
#   (default flags: --seq-lens 10,100,1000 --runs 5)
set -euo pipefail
old=$1 new=$2 rounds=${3:-3}
shift $(($# < 3 ? $# : 3))
flags=("$@")
[ ${#flags[@]} -gt 0 ] || flags=(--seq-lens 10,100,1000 --runs 5)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
declare -a old_s new_s
run() { # checkout → seconds
  local start end
  start=$(date +%s.%N)
  (cd "$1" && deno task profile "${flags[@]}" --quiet --out "$out/run" >/dev/null)
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f\n", b - a }'
}
for ((round = 1; round <= rounds; round++)); do
  old_s+=("$(run "$old")")
  new_s+=("$(run "$new")")
  echo "round $round: old ${old_s[-1]} s, new ${new_s[-1]} s" >&2
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
m_old=$(median "${old_s[@]}") m_new=$(median "${new_s[@]}")
echo "median old ${m_old} s, new ${m_new} s, new/old $(awk -v a="$m_old" -v b="$m_new" 'BEGIN { printf "%.3f", b / a }')"
