#!/usr/bin/env bash
# fsck speed (issue 4): razorfsck -fn against e2fsck -fn on images holding the
# same tree (default /usr/share; or $1). Prints seconds, files per second and
# seconds per GiB of data side by side, and the ratios. Not a test.
# Needs e2fsprogs (installed when run as root). Build first: npx tsc -p .
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TREE=${1:-/usr/share}
command -v mke2fs >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -qq e2fsprogs >/dev/null; }
work=$(mktemp -d /tmp/razorfs-bench-fsck.XXXXXX)
trap '[ "${KEEP:-0}" = 1 ] || rm -rf "$work"' EXIT
files=$(find "$TREE" -xdev | wc -l)
bytes=$(du -sb --apparent-size "$TREE" | cut -f1)
echo "tree: $TREE, $files entries, $bytes bytes"
node bin/run.js mkfs "$work/r.img" --root "$TREE" --force --quiet
size=$(( bytes * 2 + 256 * 1024 * 1024 ))
truncate -s "$size" "$work/e.img"
mke2fs -t ext4 -q -F -d "$TREE" "$work/e.img" >/dev/null
sync
t() { local s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; echo "$(date +%s.%N) - $s" | bc; }
r=$(t node bin/razorfsck.js -fn "$work/r.img")
rd=$(t node bin/razorfsck.js -fn --check-data "$work/r.img")
e=$(t e2fsck -fn "$work/e.img")
gib=$(echo "scale=6; $bytes / 1073741824" | bc)
printf '%-28s %10s %12s %10s\n' tool seconds files/s s/GiB
for row in "razorfsck -fn:$r" "razorfsck -fn --check-data:$rd" "e2fsck -fn:$e"; do
  name=${row%%:*}; s=${row##*:}
  printf '%-28s %10.2f %12.0f %10.2f\n' "$name" "$s" "$(echo "$files / $s" | bc -l)" "$(echo "$s / $gib" | bc -l)"
done
printf 'ratio razorfsck/e2fsck (time): %.2f; with --check-data: %.2f\n' "$(echo "$r / $e" | bc -l)" "$(echo "$rd / $e" | bc -l)"
