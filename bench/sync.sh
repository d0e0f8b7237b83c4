#!/usr/bin/env bash
# Benchmark: what durability on close costs on a mount. Side by side, on
# fresh mounts of fresh images, interleaved A B A B ...:
#   A  default (commit=5), the copy then `razorfs sync` (durable at the end)
#   B  -o sync_on_close (every close commits), the copy then `razorfs sync`
#   C  commit=1 (a shorter interval), the copy then `razorfs sync`
# Workload: cp -r of TREE (default /usr/include) into the mount. Measured:
# wall seconds of cp + razorfs sync, and CPU seconds (user+sys) of the
# serving process, read from /proc before unmounting. Best of REPEAT runs;
# ratios are against A.
#
#   sudo bench/sync.sh [TREE]
#
# Environment: REPEAT=3, MODES="A B C", SKIP_BUILD=1 (no `npx tsc -p .`),
# BENCH_TMP=DIR (parent of the temp dir, default /tmp).
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 1
TREE=${1:-/usr/include}
TREE=$(cd "$TREE" 2>/dev/null && pwd -P) || { echo "sync.sh: no such directory: ${1:-/usr/include}" >&2; exit 2; }
REPEAT=${REPEAT:-3}
MODES=${MODES:-"A B C"}
RAZORFS=("$(command -v node)" "$REPO/bin/run.js")
[ "$(id -u)" -eq 0 ] || { echo "sync.sh: run it as root (the mount's kernel backend)" >&2; exit 1; }
if [ "${SKIP_BUILD:-0}" != 1 ]; then npx tsc -p . || exit 1; fi

WORK=$(mktemp -d "${BENCH_TMP:-/tmp}/razorfs-sync-bench.XXXXXX")
MNT=$WORK/mnt
mkdir -p "$MNT"
trap 'umount -l "$MNT" 2>/dev/null; rm -rf "$WORK"' EXIT
TICK=$(getconf CLK_TCK)
FILES=$(find "$TREE" -type f | wc -l)
BYTES=$(du -sb "$TREE" | cut -f1)
SIZE_MB=$(( BYTES * 3 / 1048576 + 64 ))

opts() { case $1 in A) echo "commit=5" ;; B) echo "commit=5,sync_on_close" ;; C) echo "commit=1" ;; esac; }

# one run: prints "WALL CPU"
run() {
  local mode=$1 img=$WORK/b.img
  rm -f "$img"
  "${RAZORFS[@]}" mkfs "$img" --size "${SIZE_MB}M" -q || exit 1
  local out pid t0 t1 cpu
  out=$("${RAZORFS[@]}" mount "$img" "$MNT" -o "$(opts "$mode")") || exit 1
  pid=$(sed -n 's/.*pid \([0-9]*\).*/\1/p' <<<"$out")
  read -r -a st0 < <(sed 's/.*) //' "/proc/$pid/stat")
  t0=$(date +%s.%N)
  cp -r "$TREE" "$MNT/t" && "${RAZORFS[@]}" sync "$MNT" -q || exit 1
  t1=$(date +%s.%N)
  read -r -a st1 < <(sed 's/.*) //' "/proc/$pid/stat")
  # fields 14 and 15 of /proc/PID/stat (utime, stime) are 12 and 13 after the ") "
  cpu=$(( (st1[11] + st1[12]) - (st0[11] + st0[12]) ))
  "${RAZORFS[@]}" umount "$MNT" -q || exit 1
  awk -v a="$t0" -v b="$t1" -v c="$cpu" -v k="$TICK" 'BEGIN { printf "%.3f %.3f\n", b - a, c / k }'
}

declare -A WALL CPU
for m in $MODES; do WALL[$m]=999999; CPU[$m]=999999; done
for ((i = 1; i <= REPEAT; i++)); do
  for m in $MODES; do
    read -r w c < <(run "$m")
    printf '[sync-bench] run %d mode %s: wall %s s, server cpu %s s\n' "$i" "$m" "$w" "$c" >&2
    WALL[$m]=$(awk -v a="${WALL[$m]}" -v b="$w" 'BEGIN { print (b < a ? b : a) }')
    CPU[$m]=$(awk -v a="${CPU[$m]}" -v b="$c" 'BEGIN { print (b < a ? b : a) }')
  done
done

printf 'cp -r %s (%d files, %d bytes) + razorfs sync, best of %d, %s\n' "$TREE" "$FILES" "$BYTES" "$REPEAT" "$(date -u +%Y-%m-%d)"
printf '%-4s %-24s %9s %9s %12s %9s\n' mode options wall_s vs_A server_cpu_s vs_A
for m in $MODES; do
  awk -v m="$m" -v o="$(opts "$m")" -v w="${WALL[$m]}" -v c="${CPU[$m]}" -v wa="${WALL[A]:-${WALL[$m]}}" -v ca="${CPU[A]:-${CPU[$m]}}" \
    'BEGIN { printf "%-4s %-24s %9.2f %9.2f %12.2f %9.2f\n", m, o, w, w / wa, c, (ca > 0 ? c / ca : 0) }'
done
