#!/usr/bin/env bash
# Benchmark: build a filesystem image from a large real directory tree with
# `razorfs mkfs --root` (and `--tar` of the same tree) and with the usual
# Linux peers, and compare wall time, CPU time, peak RSS and image size.
#
#   bench/mkfs.sh [TREE]          TREE defaults to /usr
#
# Environment:
#   KEEP=1          keep the temp dir (images, logs) instead of deleting it
#   BENCH_TMP=DIR   parent of the temp dir (default /tmp)
#   TOOLS="..."     subset/order of: razorfs razorfs-tar razorfs-none ext4 squashfs erofs
#                   (also opt-in: squashfs-l3 = mksquashfs at zstd level 3,
#                   razorfs-w1 = razorfs with one compression worker,
#                   razorfs-nopack = razorfs --no-pack, each file's tail on its own,
#                   razorfs-z15 = razorfs --compression zstd:15, squashfs' default level)
#   RAZORFS_ARGS    extra arguments for every `razorfs mkfs` run
#   TIMEOUT=SECS    kill a tool after SECS seconds (default: no limit)
#   WARM=0          skip the page-cache warm-up read of the tree
#   SKIP_BUILD=1    do not run `npx tsc -p .` first
#   STAGE=1         always copy the tree to a staging dir (default: only when
#                   it holds entries the current user cannot read)
#
# Results: a table on stdout and bench/out/mkfs-<date>.json.
# This is a benchmark, not a test: it never fails because a number is "bad";
# it exits non-zero only if it cannot run at all.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 1

TREE=${1:-/usr}
TREE=$(cd "$TREE" 2>/dev/null && pwd -P) || { echo "mkfs.sh: no such directory: ${1:-/usr}" >&2; exit 2; }
KEEP=${KEEP:-0}
TOOLS=${TOOLS:-"razorfs razorfs-tar razorfs-none ext4 squashfs erofs"}
RAZORFS_ARGS=${RAZORFS_ARGS:-}
TIMEOUT=${TIMEOUT:-0}
WARM=${WARM:-1}
STAMP=$(date +%Y%m%d-%H%M%S)
OUTDIR=$REPO/bench/out
mkdir -p "$OUTDIR"
JSON_OUT=$OUTDIR/mkfs-$STAMP.json

log() { printf '[mkfs-bench] %s\n' "$*" >&2; }

# ---------------------------------------------------------------- prerequisites
need_pkgs=()
command -v mke2fs     >/dev/null 2>&1 || [ -x /usr/sbin/mke2fs ] || [ -x /sbin/mke2fs ] || need_pkgs+=(e2fsprogs)
command -v mksquashfs >/dev/null 2>&1 || [ -x /usr/bin/mksquashfs ] || need_pkgs+=(squashfs-tools)
command -v mkfs.erofs >/dev/null 2>&1 || [ -x /usr/bin/mkfs.erofs ] || [ -x /usr/sbin/mkfs.erofs ] || need_pkgs+=(erofs-utils)
[ -x /usr/bin/time ] || need_pkgs+=(time)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing: ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq "${need_pkgs[@]}" >/dev/null 2>&1; then
      apt-get update -qq && apt-get install -y -qq "${need_pkgs[@]}" >/dev/null ||
        { echo "mkfs.sh: could not install ${need_pkgs[*]}" >&2; exit 1; }
    fi
  else
    echo "mkfs.sh: missing packages: ${need_pkgs[*]}" >&2
    echo "  install them with:  sudo apt-get install -y ${need_pkgs[*]}" >&2
    exit 1
  fi
fi
PATH=$PATH:/usr/sbin:/sbin
HAVE_TIMEV=0
/usr/bin/time -v true >/dev/null 2>&1 && HAVE_TIMEV=1

# Which compressor does this mkfs.erofs build offer? (Debian bookworm's 1.5: lz4, lz4hc only.)
EROFS_COMP=$(mkfs.erofs --help 2>&1 | sed -n 's/^Available compressors are: *//p' | tr -d ',' )
if   [[ " $EROFS_COMP " == *" zstd "* ]];  then EROFS_Z=zstd
elif [[ " $EROFS_COMP " == *" lz4hc "* ]]; then EROFS_Z=lz4hc
elif [[ " $EROFS_COMP " == *" lz4 "* ]];   then EROFS_Z=lz4
else EROFS_Z=""; fi
log "mkfs.erofs compressors: ${EROFS_COMP:-?}; using ${EROFS_Z:-none}"

# ---------------------------------------------------------------- build
RAZORFS_OK=1
if [[ " $TOOLS " == *" razorfs"* ]] && [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "building razorfs (npx tsc -p .)"
  if ! npx tsc -p . >&2; then
    log "build failed: razorfs runs will be skipped"
    RAZORFS_OK=0
  fi
fi
[ -x "$REPO/bin/run.js" ] || { [ "$RAZORFS_OK" = 1 ] && log "bin/run.js missing: razorfs runs will be skipped"; RAZORFS_OK=0; }

# ---------------------------------------------------------------- temp dir
W=$(mktemp -d "${BENCH_TMP:-/tmp}/razorfs-bench.XXXXXX") || exit 1
cleanup() {
  if [ "$KEEP" = 1 ]; then log "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
RESULTS=$W/results.tsv
: >"$RESULTS"

# ---------------------------------------------------------------- the tree
# Entries the current user cannot read would make mke2fs -d and mkfs.erofs
# abort (mksquashfs and razorfs skip them). When there are any, or STAGE=1,
# copy the readable part of the tree (minus sockets, which tar cannot carry)
# into a staging dir and benchmark that instead.
log "scanning $TREE"
find "$TREE" \( \( -type f ! -readable \) -o \( -type d \( ! -readable -o ! -executable \) \) \) \
  -print0 2>/dev/null >"$W/unreadable.lst"
N_UNREAD=$(tr -cd '\0' <"$W/unreadable.lst" | wc -c)
SRC=$TREE
STAGED=0
if [ "$N_UNREAD" -gt 0 ] || [ "${STAGE:-0}" = 1 ]; then
  log "$N_UNREAD unreadable entries: staging a readable copy of the tree in $W/tree"
  mkdir -p "$W/tree"
  # find -prune skips unreadable dirs; tar --no-recursion copies exactly the listed entries.
  ( cd "$TREE" && find . \( -type d \( ! -readable -o ! -executable \) \) -prune -o \
      \( -type f ! -readable \) -o \( -type s \) -o -print0 2>/dev/null |
    tar --null --no-recursion -T - -cf - 2>/dev/null ) | ( cd "$W/tree" && tar -xpf - 2>/dev/null )
  SRC=$W/tree
  STAGED=1
fi

# Counts by type, bytes in regular files (apparent), hard-linked inodes.
# Bytes are counted once per inode (fileBytes) and once per name (fileBytesPerName).
find "$SRC" -printf '%y %s %n %D:%i\n' 2>/dev/null | awk '
  { n++; t[$1]++
    if ($1 == "f") {
      names += $2
      if ($3 > 1) { links++; if ($4 in seen) next; seen[$4] = 1; hl++ }
      bytes += $2; inodes++
    } }
  END { printf "%d %d %d %d %d %d %d %d %.0f %.0f\n", n, t["f"], t["d"], t["l"], t["s"], t["p"] + t["c"] + t["b"], hl, links, bytes, names }' \
  >"$W/treestats"
read -r T_ENTRIES T_FILES T_DIRS T_SYMLINKS T_SOCKETS T_OTHER T_HLINO T_HLNAMES T_BYTES T_BYTES_NAMES <"$W/treestats"
T_DU_APP=$(du -sB1 --apparent-size "$SRC" 2>/dev/null | cut -f1)
T_DU=$(du -sB1 "$SRC" 2>/dev/null | cut -f1)
log "tree: $T_ENTRIES entries ($T_FILES files, $T_DIRS dirs, $T_SYMLINKS symlinks), $T_BYTES bytes in files, du $T_DU"

# razorfs-tar reads a tar of the tree, made once here with GNU tar (not timed).
TARFILE=""
if [[ " $TOOLS " == *" razorfs-tar "* ]]; then
  TARFILE=$W/tree.tar
  log "making $TARFILE (GNU tar, pax format) for the --tar row"
  if ! tar -C "$SRC" --format=pax --xattrs -cf "$TARFILE" . 2>"$W/tar.err"; then
    log "tar reported problems (see $W/tar.err); the archive may be incomplete"
  fi
fi

if [ "$WARM" = 1 ]; then
  log "warming the page cache (reading every file once)"
  find "$SRC" -type f -print0 2>/dev/null | xargs -0 -r cat >/dev/null 2>&1
  [ -n "$TARFILE" ] && cat "$TARFILE" >/dev/null
fi

# ---------------------------------------------------------------- runner
# run_one NAME IMAGE DESCRIPTION -- CMD...
run_one() {
  local name=$1 img=$2 desc=$3; shift 4
  local pre=()
  [ "$TIMEOUT" != 0 ] && pre=(timeout --signal=KILL "$TIMEOUT")
  log "running $name: $*"
  sync
  local t0 t1 rc
  t0=$(date +%s%N)
  if [ "$HAVE_TIMEV" = 1 ]; then
    "${pre[@]}" /usr/bin/time -v -o "$W/$name.time" "$@" >"$W/$name.out" 2>"$W/$name.err"
  else
    "${pre[@]}" "$@" >"$W/$name.out" 2>"$W/$name.err"
  fi
  rc=$?
  t1=$(date +%s%N)
  local user="" sys="" rss=""
  if [ -s "$W/$name.time" ]; then
    user=$(sed -n 's/^\s*User time (seconds): //p' "$W/$name.time")
    sys=$(sed -n 's/^\s*System time (seconds): //p' "$W/$name.time")
    rss=$(sed -n 's/^\s*Maximum resident set size (kbytes): //p' "$W/$name.time")
  fi
  local app="" alloc=""
  if [ -e "$img" ]; then
    app=$(du -B1 --apparent-size "$img" | cut -f1)
    alloc=$(du -B1 "$img" | cut -f1)
  fi
  if [ "$rc" -ne 0 ]; then
    log "$name failed (exit $rc); last lines of stderr:"
    tail -n 5 "$W/$name.err" | sed 's/^/    /' >&2
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rc" "$((t1 - t0))" "$user" "$sys" "$rss" "$app" "$alloc" "$desc" "$*" >>"$RESULTS"
}

skip_one() { # NAME DESCRIPTION REASON
  printf '%s\t%s\t\t\t\t\t\t\t%s\t%s\n' "$1" "skip" "$2" "$3" >>"$RESULTS"
}

for tool in $TOOLS; do
  case $tool in
    razorfs)
      if [ "$RAZORFS_OK" = 1 ]; then
        # shellcheck disable=SC2086
        run_one razorfs "$W/razorfs.img" "razorfs mkfs --root (default: zstd)" -- \
          ./bin/run.js mkfs "$W/razorfs.img" --root "$SRC" --force --json $RAZORFS_ARGS
      else skip_one razorfs "razorfs mkfs --root (default: zstd)" "razorfs not built"; fi ;;
    razorfs-tar)
      if [ "$RAZORFS_OK" = 1 ] && [ -n "$TARFILE" ]; then
        # shellcheck disable=SC2086
        run_one razorfs-tar "$W/razorfs-tar.img" "razorfs mkfs --tar (a tar of the tree)" -- \
          ./bin/run.js mkfs "$W/razorfs-tar.img" --tar "$TARFILE" --force --json $RAZORFS_ARGS
      else skip_one razorfs-tar "razorfs mkfs --tar" "razorfs not built"; fi ;;
    razorfs-w1)  # opt-in: one compression worker (the pipeline without parallelism)
      if [ "$RAZORFS_OK" = 1 ]; then
        # shellcheck disable=SC2086
        run_one razorfs-w1 "$W/razorfs-w1.img" "razorfs mkfs --root --workers 1" -- \
          ./bin/run.js mkfs "$W/razorfs-w1.img" --root "$SRC" --force --json --workers 1 $RAZORFS_ARGS
      else skip_one razorfs-w1 "razorfs mkfs --root --workers 1" "razorfs not built"; fi ;;
    razorfs-nopack)  # opt-in: without tail packing (FORMAT.md §10, packs)
      if [ -f dist/commands/mkfs.js ]; then
        run_one razorfs-nopack "$W/razorfs-nopack.img" "razorfs mkfs --root --no-pack" -- \
          ./bin/run.js mkfs "$W/razorfs-nopack.img" --root "$SRC" --force --json --no-pack $RAZORFS_ARGS
      else skip_one razorfs-nopack "razorfs mkfs --root --no-pack" "razorfs not built"; fi ;;
    razorfs-z15)  # opt-in: zstd level 15, as mksquashfs -comp zstd
      if [ -f dist/commands/mkfs.js ]; then
        run_one razorfs-z15 "$W/razorfs-z15.img" "razorfs mkfs --root --compression zstd:15" -- \
          ./bin/run.js mkfs "$W/razorfs-z15.img" --root "$SRC" --force --json --compression zstd:15 $RAZORFS_ARGS
      else skip_one razorfs-z15 "razorfs mkfs --root --compression zstd:15" "razorfs not built"; fi ;;
    razorfs-none)
      if [ "$RAZORFS_OK" = 1 ]; then
        # shellcheck disable=SC2086
        run_one razorfs-none "$W/razorfs-none.img" "razorfs mkfs --root --compression none" -- \
          ./bin/run.js mkfs "$W/razorfs-none.img" --root "$SRC" --force --json --compression none $RAZORFS_ARGS
      else skip_one razorfs-none "razorfs mkfs --root --compression none" "razorfs not built"; fi ;;
    ext4)
      # Generous: twice the tree (apparent or allocated, whichever is larger) + 64 MiB,
      # and enough inodes even for trees of tiny files.
      big=$(( T_DU_APP > T_DU ? T_DU_APP : T_DU ))
      ext4_size=$(( (2 * big + 64 * 1024 * 1024) / 4096 * 4096 ))
      ext4_inodes=$(( T_ENTRIES + T_ENTRIES / 4 + 1024 ))
      nflag=()
      [ $(( ext4_size / 16384 )) -lt "$ext4_inodes" ] && nflag=(-N "$ext4_inodes")
      rm -f "$W/ext4.img"; truncate -s "$ext4_size" "$W/ext4.img"
      run_one ext4 "$W/ext4.img" "mke2fs -t ext4 -d ($((ext4_size / 1048576)) MiB sparse file)" -- \
        mke2fs -t ext4 -d "$SRC" -F -q "${nflag[@]}" "$W/ext4.img" ;;
    squashfs)
      run_one squashfs "$W/squashfs.img" "mksquashfs -comp zstd ($(nproc) threads)" -- \
        mksquashfs "$SRC" "$W/squashfs.img" -comp zstd -noappend -quiet ;;
    squashfs-l3)  # opt-in: same zstd level as razorfs's default (3) instead of mksquashfs's 15
      run_one squashfs-l3 "$W/squashfs-l3.img" "mksquashfs -comp zstd -Xcompression-level 3 ($(nproc) threads)" -- \
        mksquashfs "$SRC" "$W/squashfs-l3.img" -comp zstd -Xcompression-level 3 -noappend -quiet ;;
    erofs)
      if [ -n "$EROFS_Z" ]; then
        run_one erofs "$W/erofs.img" "mkfs.erofs -z$EROFS_Z" -- mkfs.erofs "-z$EROFS_Z" --quiet "$W/erofs.img" "$SRC"
      else
        run_one erofs "$W/erofs.img" "mkfs.erofs (uncompressed)" -- mkfs.erofs --quiet "$W/erofs.img" "$SRC"
      fi ;;
    *) log "unknown tool '$tool' (known: razorfs razorfs-tar razorfs-w1 razorfs-nopack razorfs-z15 razorfs-none ext4 squashfs squashfs-l3 erofs)" ;;
  esac
  # Images can be large: drop each one once measured unless asked to keep them.
  [ "$KEEP" = 1 ] || rm -f "$W/$tool.img"
done

# ---------------------------------------------------------------- report
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
export B_TREE=$TREE B_SRC=$SRC B_STAGED=$STAGED B_UNREAD=$N_UNREAD B_STAMP=$STAMP
export B_ENTRIES=$T_ENTRIES B_FILES=$T_FILES B_DIRS=$T_DIRS B_SYMLINKS=$T_SYMLINKS B_SOCKETS=$T_SOCKETS
export B_OTHER=$T_OTHER B_HLINO=$T_HLINO B_HLNAMES=$T_HLNAMES B_BYTES=$T_BYTES B_BYTES_NAMES=$T_BYTES_NAMES B_DU_APP=$T_DU_APP B_DU=$T_DU
export B_EROFS_Z=${EROFS_Z:-none} B_EROFS_COMP=$EROFS_COMP B_WARM=$WARM B_TIMEV=$HAVE_TIMEV
export B_V_E2FS=$(pkgver e2fsprogs) B_V_SQ=$(pkgver squashfs-tools) B_V_EROFS=$(pkgver erofs-utils)
export B_NPROC=$(nproc) B_KERNEL=$(uname -r) B_OS=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-?}")
export B_MEM=$(awk '/MemTotal/{print $2 * 1024}' /proc/meminfo) B_CPU=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)
export B_W=$W
export B_TARBYTES=$( [ -n "$TARFILE" ] && [ -e "$TARFILE" ] && stat -c %s "$TARFILE" || echo "")

node - "$RESULTS" "$JSON_OUT" <<'EOF'
const fs = require('node:fs')
const path = require('node:path')
const [resultsFile, jsonOut] = process.argv.slice(2)
const E = process.env
const num = v => (v === undefined || v === '' ? null : Number(v))
const rows = fs.readFileSync(resultsFile, 'utf8').split('\n').filter(Boolean).map(line => {
  const [name, rc, ns, user, sys, rss, app, alloc, desc, cmd] = line.split('\t')
  const r = {
    tool: name, description: desc, command: cmd,
    status: rc === 'skip' ? 'skipped' : rc === '0' ? 'ok' : 'failed',
    exitCode: rc === 'skip' ? null : Number(rc),
    wallSeconds: ns ? Number(ns) / 1e9 : null,
    userSeconds: num(user), sysSeconds: num(sys),
    peakRssBytes: rss ? Number(rss) * 1024 : null,
    apparentBytes: num(app), allocatedBytes: num(alloc),
  }
  if (rc === 'skip') r.reason = cmd, r.command = null
  const err = path.join(E.B_W, name + '.err'), out = path.join(E.B_W, name + '.out')
  if (r.status === 'failed' && fs.existsSync(err)) r.stderrTail = fs.readFileSync(err, 'utf8').split('\n').slice(-15).join('\n')
  if (name.startsWith('razorfs') && fs.existsSync(out)) {
    const text = fs.readFileSync(out, 'utf8').trim()
    try { r.report = JSON.parse(text) } catch { if (text) r.stdoutTail = text.split('\n').slice(-15).join('\n') }
  }
  return r
})
const by = Object.fromEntries(rows.map(r => [r.tool, r]))
const ratio = (a, b) => (a != null && b != null && b > 0 && a > 0 ? a / b : null)
function ratiosAgainst(base) {
  const b = by[base]
  if (!b || b.status !== 'ok') return null
  const out = {}
  for (const r of rows) {
    if (r.tool === base || r.status !== 'ok') continue
    out[r.tool] = {
      wall: ratio(b.wallSeconds, r.wallSeconds),
      cpu: ratio((b.userSeconds ?? 0) + (b.sysSeconds ?? 0), (r.userSeconds ?? 0) + (r.sysSeconds ?? 0)),
      peakRss: ratio(b.peakRssBytes, r.peakRssBytes),
      apparentSize: ratio(b.apparentBytes, r.apparentBytes),
      allocatedSize: ratio(b.allocatedBytes, r.allocatedBytes),
    }
  }
  return out
}
const result = {
  benchmark: 'mkfs', date: new Date().toISOString(), stamp: E.B_STAMP,
  host: { os: E.B_OS, kernel: E.B_KERNEL, cpu: E.B_CPU, nproc: Number(E.B_NPROC), memBytes: Number(E.B_MEM) },
  versions: {
    node: process.version, razorfs: JSON.parse(fs.readFileSync('package.json', 'utf8')).version,
    e2fsprogs: E.B_V_E2FS, 'squashfs-tools': E.B_V_SQ, 'erofs-utils': E.B_V_EROFS,
  },
  tree: {
    path: E.B_TREE, benchmarkedPath: E.B_SRC, staged: E.B_STAGED === '1', unreadableExcluded: Number(E.B_UNREAD),
    entries: Number(E.B_ENTRIES), files: Number(E.B_FILES), directories: Number(E.B_DIRS), symlinks: Number(E.B_SYMLINKS),
    sockets: Number(E.B_SOCKETS), otherSpecials: Number(E.B_OTHER), hardlinkedInodes: Number(E.B_HLINO), hardlinkNames: Number(E.B_HLNAMES),
    fileBytes: Number(E.B_BYTES), fileBytesPerName: Number(E.B_BYTES_NAMES), duApparentBytes: Number(E.B_DU_APP), duAllocatedBytes: Number(E.B_DU),
  },
  settings: { erofsCompressor: E.B_EROFS_Z, erofsAvailable: E.B_EROFS_COMP, warmCache: E.B_WARM === '1', timeV: E.B_TIMEV === '1', tarBytes: E.B_TARBYTES ? Number(E.B_TARBYTES) : null },
  results: rows,
  // ratio = razorfs figure / other tool's figure (below 1: razorfs is faster / smaller)
  ratiosVsRazorfs: ratiosAgainst('razorfs'),
  ratiosVsRazorfsNone: ratiosAgainst('razorfs-none'),
}
fs.writeFileSync(jsonOut, JSON.stringify(result, null, 2) + '\n')

// ---- table
const MiB = 1048576
const f = (v, d = 2) => (v == null ? '-' : v.toFixed(d))
const mib = v => (v == null ? '-' : (v / MiB).toFixed(1))
const t = result.tree
console.log(`\nTree: ${t.path}${t.staged ? ` (staged copy, ${t.unreadableExcluded} unreadable entries excluded)` : ''}`)
console.log(`  ${t.entries} entries: ${t.files} files, ${t.directories} dirs, ${t.symlinks} symlinks, ${t.sockets} sockets, ${t.otherSpecials} other; ` +
  `${t.hardlinkedInodes} hard-linked inodes (${t.hardlinkNames} names)`)
console.log(`  ${mib(t.fileBytes)} MiB in files (${mib(t.fileBytesPerName)} MiB counting each hard link); du ${mib(t.duAllocatedBytes)} MiB (apparent ${mib(t.duApparentBytes)} MiB)`)
console.log(`  ${result.host.nproc} CPUs, ${result.host.cpu}; page cache ${result.settings.warmCache ? 'warm' : 'cold'}\n`)
const base = by.razorfs && by.razorfs.status === 'ok' ? by.razorfs : null
const head = ['tool', 'status', 'wall s', 'cpu s', 'RSS MiB', 'size MiB', 'alloc MiB', 'rz/x wall', 'rz/x size', 'rz/x alloc']
const body = rows.map(r => {
  const cpu = r.userSeconds == null ? null : r.userSeconds + (r.sysSeconds ?? 0)
  const ok = base && r.status === 'ok'
  return [r.tool, r.status, f(r.wallSeconds), f(cpu), mib(r.peakRssBytes), mib(r.apparentBytes), mib(r.allocatedBytes),
    ok ? f(ratio(base.wallSeconds, r.wallSeconds)) : '-',
    ok ? f(ratio(base.apparentBytes, r.apparentBytes)) : '-',
    ok ? f(ratio(base.allocatedBytes, r.allocatedBytes)) : '-']
})
const w = head.map((h, i) => Math.max(h.length, ...body.map(b => b[i].length)))
const line = cols => cols.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ')
console.log(line(head)); console.log(w.map(n => '-'.repeat(n)).join('  ')); body.forEach(b => console.log(line(b)))
console.log('\nrz/x = razorfs (default, zstd) figure divided by that tool\'s figure; below 1.00 means razorfs is faster/smaller.')
const sq = by.squashfs && by.squashfs.status === 'ok' ? by.squashfs : null
if (sq) {
  // the targets of issue 6: an image no larger than 1.15 x the squashfs image, no slower than mksquashfs
  for (const r of rows.filter(x => x.tool.startsWith('razorfs') && x.tool !== 'razorfs-none' && x.status === 'ok')) {
    const size = ratio(r.apparentBytes, sq.apparentBytes), alloc = ratio(r.allocatedBytes, sq.allocatedBytes), wall = ratio(r.wallSeconds, sq.wallSeconds)
    console.log(`target check ${r.tool}: size ${f(size)} x squashfs (alloc ${f(alloc)}; target <= 1.15), wall ${f(wall)} x mksquashfs (target <= 1.00)`)
  }
}
console.log('size = apparent file size (du --apparent-size); alloc = bytes allocated on the host (du -B1; the razorfs image is sparse).')
for (const r of rows) if (r.status === 'failed') console.log(`\n${r.tool} failed (exit ${r.exitCode}):\n${(r.stderrTail || r.stdoutTail || '').replace(/^/gm, '  ')}`)
for (const r of rows) if (r.status === 'skipped') console.log(`${r.tool} skipped: ${r.reason}`)
console.log(`\nJSON: ${path.relative(process.cwd(), jsonOut)}`)
EOF
