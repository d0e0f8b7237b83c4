#!/usr/bin/env bash
# Benchmark: copying files into and out of images with `razorfs cp`, side by
# side with the ext4 tools that do the same job on an unmounted image, and
# with unsquashfs for extraction.
#
#   bench/cp.sh [TREE]          TREE defaults to /usr/share
#
# Rows (each timed alone, page cache warm; each run REPEAT=3 times on fresh
# images, the fastest kept):
#   tree in    razorfs cp -a TREE/. IMG:            (zstd image, everything kept)
#              debugfs -w -f CMDS: mkdir/write/symlink for the whole tree (one debugfs process;
#              it keeps neither modes, owners, times nor xattrs)
#              e2cp is not in this row: e2tools 0.1.0 cannot grow a directory past its first
#              block ("No free space in the directory"), so it fails on any real tree
#              (E2CP_TREE=1 runs it anyway, for the record).
#   1 GiB in   razorfs cp BIG IMG:/big   /  e2cp BIG ext4:/big  /  debugfs -w -R "write BIG big"
#              (BIG is 1 GiB of random bytes: nothing to compress, stored raw)
#   tree out   razorfs cp -a IMG: OUT    /  debugfs -R "rdump / OUT" (on the debugfs-built ext4 image)
#              /  unsquashfs -d OUT (squashfs made from TREE by mksquashfs -comp zstd, not timed)
#
# Copy-in rows end with `sync IMAGE` (an fsync of the image file) for every
# tool (SYNC=0 leaves it out): razorfs
# acknowledges a copy only once it is durable (journal commit with fsync),
# e2cp and debugfs leave their writes in the page cache, so without the sync
# the comparison would be durable against not durable.
#
# Environment: KEEP=1 keeps the temp dir; BENCH_TMP=DIR its parent (default
# /tmp; needs about 3 × the tree + 3 GiB); SKIP_BUILD=1 skips `npx tsc`;
# BIG_MB=1024 size of the big file; WARM=0 skips reading the tree first.
#
# Results: a table on stdout (seconds, files/s, MB/s, and razorfs's speed as a
# ratio of each peer's: above 1.00 means razorfs is faster) and
# bench/out/cp-<date>.json. This is a benchmark, not a test: it fails only if
# it cannot run.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 1
TREE=${1:-/usr/share}
TREE=$(cd "$TREE" 2>/dev/null && pwd -P) || { echo "cp.sh: no such directory: ${1:-/usr/share}" >&2; exit 2; }
KEEP=${KEEP:-0}
BIG_MB=${BIG_MB:-1024}
STAMP=$(date +%Y%m%d-%H%M%S)
mkdir -p bench/out
JSON_OUT=bench/out/cp-$STAMP.json
PATH=$PATH:/usr/sbin:/sbin
log() { printf '[cp-bench] %s\n' "$*" >&2; }

need=()
command -v e2cp >/dev/null || need+=(e2tools)
command -v debugfs >/dev/null || need+=(e2fsprogs)
command -v unsquashfs >/dev/null || need+=(squashfs-tools)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    log "installing: ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; } ||
      { echo "cp.sh: could not install ${need[*]}" >&2; exit 1; }
  else
    echo "cp.sh: missing packages: ${need[*]} (sudo apt-get install -y ${need[*]})" >&2
    exit 1
  fi
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then log "building (npx tsc -p .)"; npx tsc -p . >&2 || exit 1; fi

W=$(mktemp -d "${BENCH_TMP:-/tmp}/razorfs-cpbench.XXXXXX") || exit 1
trap '[ "$KEEP" = 1 ] && log "kept $W" || rm -rf "$W"' EXIT
trap 'exit 130' INT TERM
RES=$W/results.tsv
: >"$RES"

# ---------------------------------------------------------------- the tree
read -r FILES BYTES DIRS LINKS < <(find "$TREE" \( -type f -printf 'f %s\n' \) -o \( -type d -printf 'd 0\n' \) -o \( -type l -printf 'l 0\n' \) 2>/dev/null |
  awk '{c[$1]++; if ($1 == "f") b += $2} END {printf "%d %.0f %d %d\n", c["f"], b, c["d"], c["l"]}')
log "tree $TREE: $FILES files ($BYTES bytes), $DIRS directories, $LINKS symlinks"
if [ "${WARM:-1}" = 1 ]; then
  log "warming the page cache"
  find "$TREE" -type f -print0 2>/dev/null | xargs -0 -r cat >/dev/null 2>&1
fi
log "making a $BIG_MB MiB random file"
head -c "$((BIG_MB * 1048576))" /dev/urandom >"$W/big"
BIG_BYTES=$((BIG_MB * 1048576))

# ---------------------------------------------------------------- runner
export SYNC=${SYNC:-1}
# "${DURABLE[@]}" FILE CMD...: CMD, then fsync FILE (coreutils sync FILE) for copy-in rows, see SYNC above.
# A program, so /usr/bin/time can run it; only the image is synced, not the whole (shared) machine.
DURABLE=(bash -c 'f=$1; shift; "$@" || exit $?; if [ "$SYNC" = 1 ]; then sync "$f"; fi' durable)
REPEAT=${REPEAT:-3}

# run NAME FILES BYTES SETUP -- CMD...
#   REPEAT times: SETUP (a shell command, untimed), then CMD timed; the fastest run is kept
#   (on a shared machine the fastest run is the one least disturbed by others).
run() {
  local name=$1 files=$2 bytes=$3 setup=$4; shift 5
  log "$name: $*"
  local best="" bestrc=0 bestrss="" i t0 t1 rc rss
  for ((i = 1; i <= REPEAT; i++)); do
    bash -c "$setup" >/dev/null 2>&1
    rss=""
    t0=$(date +%s%N)
    if /usr/bin/time -v true >/dev/null 2>&1; then
      /usr/bin/time -v -o "$W/$name.time" "$@" >"$W/$name.out" 2>"$W/$name.err"
      rc=$?
      rss=$(sed -n 's/^\s*Maximum resident set size (kbytes): //p' "$W/$name.time")
    else
      "$@" >"$W/$name.out" 2>"$W/$name.err"
      rc=$?
    fi
    t1=$(date +%s%N)
    if [ "$rc" -ne 0 ]; then
      log "$name exited $rc:"; tail -n 3 "$W/$name.err" | sed 's/^/    /' >&2
      best=$((t1 - t0)); bestrc=$rc; bestrss=$rss
      break
    fi
    log "  run $i: $(( (t1 - t0) / 1000000 )) ms"
    if [ -z "$best" ] || [ $((t1 - t0)) -lt "$best" ]; then best=$((t1 - t0)); bestrss=$rss; fi
  done
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$bestrc" "$best" "$files" "$bytes" "$bestrss" >>"$RES"
}

INODES=$((DIRS + FILES + LINKS + 10000))
TREE_SIZE=$(( (2 * BYTES + 512 * 1048576) / 4096 * 4096 ))
BIG_SIZE=$(( (BIG_BYTES + 256 * 1048576) / 4096 * 4096 ))
export W TREE_SIZE BIG_SIZE INODES
EXT4="rm -f \"\$img\"; truncate -s \"\$size\" \"\$img\"; mke2fs -t ext4 -F -q -N \$INODES \"\$img\""

# ---------------------------------------------------------------- tree in
run razorfs-tree-in "$FILES" "$BYTES" "./bin/run.js mkfs '$W/rz.img' --size $TREE_SIZE -q --force" -- \
  "${DURABLE[@]}" "$W/rz.img" ./bin/run.js cp -a "$TREE/." "$W/rz.img:"
[ -s "$W/rz.img" ] || { log "razorfs mkfs failed"; exit 1; }

if [ "${E2CP_TREE:-0}" = 1 ]; then
  ( cd / && find "$TREE" -type f -print0 ) >"$W/files.lst"
  run e2cp-tree-in "$FILES" "$BYTES" "img='$W/e2cp.img' size=$TREE_SIZE; $EXT4" -- \
    "${DURABLE[@]}" "$W/e2cp.img" sh -c "e2cp -0 -ap -d '$W/e2cp.img:/' < '$W/files.lst'"
fi

# debugfs: one command file for the whole tree (names with a double quote or a newline are left out)
( cd "$TREE" && {
    find . -mindepth 1 -type d -printf '%P\n' | grep -v '"' | sed 's|.*|mkdir "/&"|'
    find . -type f -printf '%P\n' | grep -v '"' | sed "s|.*|write \"$TREE/&\" \"/&\"|"
    find . -type l -printf '%P\t%l\n' | grep -v '"' | awk -F '\t' '{printf "symlink \"/%s\" \"%s\"\n", $1, $2}'
  } ) >"$W/debugfs.cmds"
run debugfs-tree-in "$FILES" "$BYTES" "img='$W/dbg.img' size=$TREE_SIZE; $EXT4" -- \
  "${DURABLE[@]}" "$W/dbg.img" debugfs -w -f "$W/debugfs.cmds" "$W/dbg.img"

# ---------------------------------------------------------------- 1 GiB in (fresh images)
run razorfs-big-in 1 "$BIG_BYTES" "./bin/run.js mkfs '$W/rzbig.img' --size $BIG_SIZE -q --force" -- \
  "${DURABLE[@]}" "$W/rzbig.img" ./bin/run.js cp "$W/big" "$W/rzbig.img:/big"
run e2cp-big-in 1 "$BIG_BYTES" "img='$W/e2big.img' size=$BIG_SIZE; $EXT4" -- \
  "${DURABLE[@]}" "$W/e2big.img" e2cp "$W/big" "$W/e2big.img:/big"
run debugfs-big-in 1 "$BIG_BYTES" "img='$W/dbgbig.img' size=$BIG_SIZE; $EXT4" -- \
  "${DURABLE[@]}" "$W/dbgbig.img" debugfs -w -R "write $W/big big" "$W/dbgbig.img"
rm -f "$W/rzbig.img" "$W/e2big.img" "$W/dbgbig.img"

# ---------------------------------------------------------------- tree out
run razorfs-tree-out "$FILES" "$BYTES" "rm -rf '$W/out'" -- ./bin/run.js cp -a "$W/rz.img:" "$W/out"
run debugfs-tree-out "$FILES" "$BYTES" "rm -rf '$W/out'; mkdir '$W/out'" -- debugfs -R "rdump / $W/out" "$W/dbg.img"
log "mksquashfs (not timed)"
mksquashfs "$TREE" "$W/sq.img" -comp zstd -noappend -quiet -no-progress >/dev/null 2>&1
run unsquashfs-tree-out "$FILES" "$BYTES" "rm -rf '$W/out'" -- unsquashfs -no-progress -d "$W/out" "$W/sq.img"
rm -rf "$W/out"

# ---------------------------------------------------------------- report
node - "$RES" "$JSON_OUT" "$TREE" <<'EOF'
const fs = require('fs')
const [res, out, tree] = process.argv.slice(2)
const rows = fs.readFileSync(res, 'utf8').trim().split('\n').map((l) => {
  const [name, rc, ns, files, bytes, rss] = l.split('\t')
  const s = Number(ns) / 1e9
  return {name, rc: Number(rc), seconds: s, files: Number(files), bytes: Number(bytes), filesPerSec: Number(files) / s, mbPerSec: Number(bytes) / 1048576 / s, peakRssMiB: rss ? Number(rss) / 1024 : null}
})
const by = Object.fromEntries(rows.map((r) => [r.name, r]))
const lines = []
const pad = (s, n) => String(s).padEnd(n)
const num = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-')
lines.push(`${pad('row', 22)}${pad('exit', 5)}${pad('seconds', 10)}${pad('files/s', 11)}${pad('MB/s', 9)}${pad('RSS MiB', 9)}razorfs speed ÷ this`)
for (const r of rows) {
  const phase = r.name.replace(/^[^-]+-/, '')
  const rz = by[`razorfs-${phase}`]
  const ratio = rz && r !== rz && rz.rc === 0 && r.rc === 0 ? (r.seconds / rz.seconds).toFixed(2) : ''
  lines.push(`${pad(r.name, 22)}${pad(r.rc, 5)}${pad(num(r.seconds, 2), 10)}${pad(num(r.filesPerSec, 0), 11)}${pad(num(r.mbPerSec), 9)}${pad(num(r.peakRssMiB, 0), 9)}${ratio}`)
}
console.log(lines.join('\n'))
fs.writeFileSync(out, JSON.stringify({tree, date: new Date().toISOString(), host: require('os').cpus().length + ' CPUs', rows}, null, 2))
console.error(`[cp-bench] wrote ${out}`)
EOF
