#!/usr/bin/env bash
# Benchmark: a mounted RAZORFS image (razorfs mount) against fuse2fs on an
# ext4 image with the same content. Workloads:
#   - sequential write of a 1 GiB file (dd bs=1M conv=fsync) and read of it
#     after a remount (MB/s);
#   - a small-file walk of a real tree: find, find + cat of every file, and
#     tar -c of the tree (files/s, MB/s);
#   - metadata: create, stat and unlink 10,000 files (ops/s).
# Every workload runs on a fresh mount, so nothing is served from the
# kernel's page or dentry cache; the image files themselves are in the host's
# page cache for both tools alike.
#
#   sudo bench/mount.sh [TREE]       TREE defaults to /usr/include
#
# Environment:
#   TOOLS="razorfs fuse2fs"   rows, in order (also: razorfs-libfuse, the fuse-native backend)
#   SIZE_MB=1024              size of the sequential file
#   FILES=10000               files of the metadata workload
#   REPEAT=1                  runs of each workload; the best is kept
#   KEEP=1                    keep the temp dir; BENCH_TMP=DIR its parent (default /tmp)
#   SKIP_BUILD=1              do not run `npx tsc -p .` first
#
# Results: a table on stdout (razorfs / fuse2fs ratios: above 1.00 razorfs is
# faster) and bench/out/mount-<date>.json. A benchmark, not a test: it fails
# only when it cannot run.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 1
TREE=${1:-/usr/include}
TREE=$(cd "$TREE" 2>/dev/null && pwd -P) || { echo "mount.sh: no such directory: ${1:-/usr/include}" >&2; exit 2; }
TOOLS=${TOOLS:-"razorfs fuse2fs"}
SIZE_MB=${SIZE_MB:-1024}
FILES=${FILES:-10000}
REPEAT=${REPEAT:-1}
KEEP=${KEEP:-0}
STAMP=$(date +%Y%m%d-%H%M%S)
OUTDIR=$REPO/bench/out
mkdir -p "$OUTDIR"
JSON_OUT=$OUTDIR/mount-$STAMP.json
RAZORFS=("$(command -v node)" "$REPO/bin/run.js")

log() { printf '[mount-bench] %s\n' "$*" >&2; }

[ "$(id -u)" -eq 0 ] || { echo "mount.sh: run it as root (razorfs mount's kernel backend and fuse2fs mount as root)" >&2; exit 1; }
if ! command -v fuse2fs >/dev/null 2>&1 || ! command -v mke2fs >/dev/null 2>&1; then
  log "installing fuse2fs e2fsprogs"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq fuse2fs e2fsprogs >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq fuse2fs e2fsprogs >/dev/null; } ||
    { echo "mount.sh: could not install fuse2fs (sudo apt-get install fuse2fs)" >&2; exit 1; }
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "building (npx tsc -p .)"
  npx tsc -p . || exit 1
fi

WORK=$(mktemp -d "${BENCH_TMP:-/tmp}/razorfs-mount-bench.XXXXXX")
MNT=$WORK/mnt
mkdir -p "$MNT"
cleanup() {
  umount -l "$MNT" 2>/dev/null
  if [ "$KEEP" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", n / s; else print 0 }'; }
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }

TREE_FILES=$(find "$TREE" -type f | wc -l)
TREE_BYTES=$(find "$TREE" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
IMG_MB=$(( SIZE_MB * 2 + TREE_BYTES * 3 / 1048576 + 512 ))
log "tree $TREE: $TREE_FILES files, $TREE_BYTES bytes; images of $IMG_MB MiB; sequential file $SIZE_MB MiB"
DATA=$WORK/data.bin
head -c $(( SIZE_MB * 1048576 )) /dev/urandom > "$DATA"
cat "$DATA" > /dev/null

# ---------------------------------------------------------------- per tool
make_image() { # tool image
  case $1 in
    razorfs*) "${RAZORFS[@]}" mkfs "$2" --size "${IMG_MB}M" --root "$TREE" --force -q ;;
    fuse2fs) rm -f "$2" && truncate -s "${IMG_MB}M" "$2" && mke2fs -q -F -t ext4 -d "$TREE" "$2" ;;
  esac
}
do_mount() { # tool image
  case $1 in
    razorfs) "${RAZORFS[@]}" mount "$2" "$MNT" -q ;;
    razorfs-libfuse) "${RAZORFS[@]}" mount "$2" "$MNT" -q -o backend=libfuse ;;
    fuse2fs) fuse2fs "$2" "$MNT" >/dev/null ;;
  esac
}
do_umount() { # tool image
  case $1 in
    razorfs*) "${RAZORFS[@]}" umount "$MNT" -q ;;
    fuse2fs)
      umount "$MNT"
      # fuse2fs writes its caches back when it exits
      while pgrep -f "fuse2fs $2" >/dev/null; do sleep 0.05; done ;;
  esac
}

declare -A R
run_tool() {
  local tool=$1 img=$WORK/$1.img t s n
  log "$tool: making the image"
  make_image "$tool" "$img" || { log "$tool: cannot make the image"; return 1; }
  for ((rep = 0; rep < REPEAT; rep++)); do
    log "$tool: run $((rep + 1))/$REPEAT"
    # sequential write and read
    do_mount "$tool" "$img" || { log "$tool: mount failed"; return 1; }
    rm -f "$MNT/big"; sync
    t=$(now); dd if="$DATA" of="$MNT/big" bs=1M conv=fsync status=none; s=$(elapsed "$t")
    R[$tool,write]=$(best "${R[$tool,write]:-0}" "$(rate "$SIZE_MB" "$s")")
    do_umount "$tool" "$img"
    do_mount "$tool" "$img"
    t=$(now); dd if="$MNT/big" of=/dev/null bs=1M status=none; s=$(elapsed "$t")
    R[$tool,read]=$(best "${R[$tool,read]:-0}" "$(rate "$SIZE_MB" "$s")")
    rm -f "$MNT/big"
    do_umount "$tool" "$img"
    # small-file walk
    do_mount "$tool" "$img"
    t=$(now); n=$(find "$MNT" -type f | wc -l); s=$(elapsed "$t")
    R[$tool,find]=$(best "${R[$tool,find]:-0}" "$(rate "$n" "$s")")
    do_umount "$tool" "$img"
    do_mount "$tool" "$img"
    t=$(now); find "$MNT" -type f -exec cat {} + | wc -c >/dev/null; s=$(elapsed "$t")
    R[$tool,cat]=$(best "${R[$tool,cat]:-0}" "$(rate "$(( TREE_BYTES / 1048576 ))" "$s")")
    R[$tool,catfiles]=$(best "${R[$tool,catfiles]:-0}" "$(rate "$TREE_FILES" "$s")")
    do_umount "$tool" "$img"
    do_mount "$tool" "$img"
    t=$(now); n=$(tar -cf - -C "$MNT" . 2>/dev/null | wc -c); s=$(elapsed "$t")
    R[$tool,tar]=$(best "${R[$tool,tar]:-0}" "$(rate "$(( n / 1048576 ))" "$s")")
    do_umount "$tool" "$img"
    # metadata: each phase on a fresh mount
    for phase in create stat unlink; do
      do_mount "$tool" "$img"
      n=$(node "$REPO/bench/meta.mjs" "$phase" "$MNT" "$FILES" | sed -E 's/.*"opsPerSec":([0-9]+).*/\1/')
      R[$tool,$phase]=$(best "${R[$tool,$phase]:-0}" "$n")
      [ "$phase" = unlink ] && rmdir "$MNT/meta"
      do_umount "$tool" "$img"
    done
  done
  rm -f "$img"
}

for tool in $TOOLS; do run_tool "$tool"; done

# ---------------------------------------------------------------- report
ROWS=(write:"sequential write ${SIZE_MB} MiB (MB/s)" read:"sequential read ${SIZE_MB} MiB (MB/s)" find:"find: files/s" cat:"find + cat: MB/s" catfiles:"find + cat: files/s" tar:"tar -c: MB/s" create:"create ${FILES} files: ops/s" stat:"stat ${FILES} files: ops/s" unlink:"unlink ${FILES} files: ops/s")
BASE=fuse2fs
printf '\n%-34s' "workload"
for tool in $TOOLS; do printf '%16s' "$tool"; done
for tool in $TOOLS; do [ "$tool" != $BASE ] && printf '%24s' "$tool/$BASE"; done
printf '\n'
{
  printf '{"date":"%s","tree":"%s","treeFiles":%s,"treeBytes":%s,"sizeMB":%s,"files":%s,"repeat":%s,"host":"%s","kernel":"%s","fuse2fs":"%s","results":{' \
    "$STAMP" "$TREE" "$TREE_FILES" "$TREE_BYTES" "$SIZE_MB" "$FILES" "$REPEAT" "$(hostname)" "$(uname -r)" "$(dpkg-query -W -f='${Version}' fuse2fs 2>/dev/null)"
  first=1
  for row in "${ROWS[@]}"; do
    key=${row%%:*}
    [ $first = 1 ] || printf ','
    first=0
    printf '"%s":{' "$key"
    f2=1
    for tool in $TOOLS; do [ $f2 = 1 ] || printf ','; f2=0; printf '"%s":%s' "$tool" "${R[$tool,$key]:-null}"; done
    printf '}'
  done
  printf '}}\n'
} > "$JSON_OUT"
for row in "${ROWS[@]}"; do
  key=${row%%:*}
  printf '%-34s' "${row#*:}"
  for tool in $TOOLS; do printf '%16s' "${R[$tool,$key]:--}"; done
  for tool in $TOOLS; do
    [ "$tool" = $BASE ] && continue
    awk -v a="${R[$tool,$key]:-0}" -v b="${R[$BASE,$key]:-0}" 'BEGIN { if (b > 0) printf "%24.2f", a / b; else printf "%24s", "-" }'
  done
  printf '\n'
done
log "results: $JSON_OUT"
