// fallocate(2) on a real mount: every mode with ext4's results, the
// preallocation guarantee on a full image, EFBIG/ENOSPC/EOPNOTSUPP, the
// write-back reproducer of issue 10 (ZERO_RANGE after buffered writes cut the
// file short), and the fsx-style run (test/helpers/fsx.py: write, mapped
// write, read, truncate, every fallocate mode, fsync, O_DIRECT) against a
// host file. RAZORFS_TEST_SEED replays the fsx run, RAZORFS_TEST_FSX_OPS sets
// its count (100,000 by default).
import t, {type Test} from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import {spawnSync} from 'node:child_process'
import {Image} from '../src/core/index.js'
import {cli, PROJECT, tmpDir} from './helpers/image.js'
import {mount, mountUnavailable, umount} from './helpers/mount.js'

const skip = mountUnavailable()
if (skip) t.plan(0, skip)

const FSX = path.join(PROJECT, 'test/helpers/fsx.py')

/** Run python code with fallocate(fd, mode, off, len) and the FALLOC_FL_* names from fsx.py; returns stdout lines. */
function py(t: Test, code: string, args: string[] = []): string[] {
  const prelude = `import os, sys, mmap\nsys.path.insert(0, ${JSON.stringify(path.dirname(FSX))})\nfrom fsx import *\ndef falloc(fd, mode, off, length):\n    try:\n        fallocate(fd, mode, off, length)\n        return 'ok'\n    except OSError as e:\n        return errno.errorcode[e.errno].replace('ENOTSUP', 'EOPNOTSUPP')\n`
  const r = spawnSync('python3', ['-c', prelude + code, ...args], {encoding: 'utf8', timeout: 300000})
  if (r.stderr) t.comment(r.stderr.trim())
  if (r.status !== 0) t.fail(`python: ${r.stderr || r.error}`)
  return r.stdout.trim().split('\n')
}

function mkfs(image: string, size: string, extra: string[] = []): void {
  const r = cli(['mkfs', image, '--size', size, '-q', ...extra])
  if (r.status !== 0) throw new Error(r.stderr)
}

function checkClean(t: Test, image: string): void {
  const img = Image.open(image, {readOnly: true})
  t.same(img.check().problems, [], 'the image checks clean')
  img.close()
}

t.test('ZERO_RANGE after buffered writes keeps the file (issue 10)', async (t) => {
  const dir = tmpDir(t, 'falloc')
  const image = path.join(dir, 'z.img')
  mkfs(image, '64M')
  const {mnt} = mount(t, image, path.join(dir, 'mnt'))
  for (const flags of ['0', 'os.O_DIRECT']) {
    const out = py(
      t,
      `
f = sys.argv[1]
fd = os.open(f, os.O_RDWR | os.O_CREAT | ${flags}, 0o644)
buf = mmap.mmap(-1, 65536)
buf[:] = b'x' * 65536
os.pwritev(fd, [buf], 0)
print(falloc(fd, ZERO_RANGE, 0x5000, 0x1000))
print(hex(os.fstat(fd).st_size))
r = os.open(f, os.O_RDONLY)
data = os.pread(r, 1 << 20, 0)
print(len(data), data == b'x' * 0x5000 + bytes(0x1000) + b'x' * 0xa000)
print(falloc(fd, ZERO_RANGE | KEEP_SIZE, 0xf000, 0x4000), hex(os.fstat(fd).st_size))
print(falloc(fd, ZERO_RANGE, 0xf000, 0x4000), hex(os.fstat(fd).st_size))
`,
      [path.join(mnt, `f${flags.length}`)],
    )
    t.same(
      out,
      ['ok', '0x10000', '65536 True', 'ok 0x10000', 'ok 0x13000'],
      `the size and the bytes after the range stay (${flags === '0' ? 'buffered' : 'O_DIRECT'})`,
    )
  }
  t.equal(umount(mnt).status, 0)
  checkClean(t, image)
})

t.test('every mode, with ext4 results and errors', async (t) => {
  const dir = tmpDir(t, 'falloc')
  const image = path.join(dir, 'm.img')
  mkfs(image, '64M')
  const {mnt} = mount(t, image, path.join(dir, 'mnt'))
  const out = py(
    t,
    `
f = sys.argv[1]
fd = os.open(f, os.O_RDWR | os.O_CREAT, 0o644)
def st():
    s = os.fstat(fd)
    return f'{s.st_size} {s.st_blocks * 512}'
def free():
    s = os.statvfs(os.path.dirname(f))
    return s.f_bfree * s.f_frsize
free0 = free()
print('mode 0', falloc(fd, 0, 0, 1 << 20), st(), free0 - free())
print('keep size', falloc(fd, KEEP_SIZE, 1 << 20, 1 << 20), st(), free0 - free())
print('data', os.pread(fd, 1 << 21, 0) == bytes(1 << 20))
os.pwrite(fd, b'y' * 300000, 0)
os.fsync(fd)
print('punch', falloc(fd, PUNCH_HOLE | KEEP_SIZE, 4096, 8192), st())
print('punch needs keep size', falloc(fd, PUNCH_HOLE, 0, 4096))
print('zero keep size', falloc(fd, ZERO_RANGE | KEEP_SIZE, 3 << 20, 4096), st())
print('zero', falloc(fd, ZERO_RANGE, 3 << 20, 4096), st())
d = os.pread(fd, 300000, 0)
print('bytes', d == b'y' * 4096 + bytes(8192) + b'y' * (300000 - 12288))
for name, mode in (('collapse', COLLAPSE_RANGE), ('insert', INSERT_RANGE), ('unshare', UNSHARE_RANGE)):
    print(name, falloc(fd, mode, 0, 4096))
print('2^62', falloc(fd, 0, 1 << 62, 4096))
print('2^63-4097', falloc(fd, KEEP_SIZE, (1 << 63) - 4097, 4096))
print('2^53', falloc(fd, 0, (1 << 53) - 4096, 4096))
print('zero 2^53', falloc(fd, ZERO_RANGE, 1 << 53, 1))
print('len 0', falloc(fd, 0, 0, 0))
print('too big', falloc(fd, 0, 0, 1 << 30), st())
os.ftruncate(fd, 1 << 19)
print('truncate', st(), free0 - free())
os.close(fd)
os.unlink(f)
print('unlinked', free0 - free())
`,
    [path.join(mnt, 'f')],
  )
  const MiB = 1 << 20
  const n = '(\\d+)'
  const expect: Array<[string, string]> = [
    [`mode 0 ok ${MiB} ${MiB} ${n}`, 'mode 0 grows the file; the space counts as allocated and is gone from statfs'],
    [`keep size ok ${MiB} ${2 * MiB} ${n}`, 'KEEP_SIZE leaves the size; the space past the end counts as allocated'],
    ['data True', 'a preallocated range reads as zeros'],
    [`punch ok ${MiB} ${n}`, 'PUNCH_HOLE|KEEP_SIZE'],
    ['punch needs keep size EOPNOTSUPP', 'PUNCH_HOLE without KEEP_SIZE: EOPNOTSUPP (as the kernel answers)'],
    [`zero keep size ok ${MiB} ${n}`, 'ZERO_RANGE|KEEP_SIZE past the end leaves the size'],
    [`zero ok ${3 * MiB + 4096} ${n}`, 'ZERO_RANGE grows the file'],
    ['bytes True', 'the punched range reads as zeros, the rest stays'],
    ['collapse EOPNOTSUPP', 'COLLAPSE_RANGE: EOPNOTSUPP'],
    ['insert EOPNOTSUPP', 'INSERT_RANGE: EOPNOTSUPP'],
    ['unshare EOPNOTSUPP', 'UNSHARE_RANGE: EOPNOTSUPP'],
    ['2\\^62 EFBIG', 'an offset near 2^62: EFBIG'],
    ['2\\^63-4097 EFBIG', 'a range ending just below 2^63: EFBIG'],
    ['2\\^53 EFBIG', 'a range past the largest file size (2^53 - 1): EFBIG'],
    ['zero 2\\^53 EFBIG', 'ZERO_RANGE there too'],
    ['len 0 EINVAL', 'an empty range: EINVAL'],
    [`too big ENOSPC ${3 * MiB + 4096} ${n}`, 'a preallocation the image cannot hold: ENOSPC, the size unchanged'],
    [`truncate ${n} ${n} ${n}`, 'truncate'],
    ['unlinked 0', 'deleting the file gives every reserved block back'],
  ]
  t.equal(out.length, expect.length, out.join('\n'))
  expect.forEach(([re, what], i) => t.match(out[i] ?? '', new RegExp(`^${re}$`), what))
  t.ok(Number(/ (\d+)$/.exec(out[0]!)?.[1]) >= MiB, 'statfs: the preallocated MiB is not free')
  t.ok(Number(/ (\d+)$/.exec(out[1]!)?.[1]) >= 2 * MiB, 'statfs: neither are two')
  t.equal(/ (\d+)$/.exec(out[16]!)?.[1], / (\d+)$/.exec(out[6]!)?.[1], 'the failed preallocation reserved nothing')
  const [, size, alloc, held] = /^truncate (\d+) (\d+) (\d+)$/.exec(out[17]!) ?? []
  t.equal(Number(size), MiB / 2, 'truncated')
  t.ok(Number(alloc) < MiB, `windows past a shrunk end are reserved no more (allocated ${alloc})`)
  t.ok(Number(held) < MiB, `and statfs gives them back (${held} bytes used)`)
  t.equal(umount(mnt).status, 0)
  checkClean(t, image)
})

t.test('preallocated space is there on a full image', async (t) => {
  const dir = tmpDir(t, 'falloc')
  const image = path.join(dir, 'p.img')
  mkfs(image, '64M')
  const {mnt} = mount(t, image, path.join(dir, 'mnt'))
  const out = py(
    t,
    `
mnt = sys.argv[1]
fd = os.open(mnt + '/pre', os.O_RDWR | os.O_CREAT, 0o644)
print(falloc(fd, 0, 0, 24 << 20))
g = os.open(mnt + '/fill', os.O_RDWR | os.O_CREAT, 0o644)
err = None
for chunk in (1 << 20, 1 << 16, 1 << 12):
    try:
        while True:
            os.write(g, os.urandom(chunk))
    except OSError as e:
        err = errno.errorcode[e.errno]
try:
    os.close(g)
except OSError:
    pass
s = os.statvfs(mnt)
print('filled', err, s.f_bavail * s.f_frsize < (20 << 20), s.f_bavail * s.f_frsize, file=sys.stderr)
print('filled', err, s.f_bavail * s.f_frsize < (20 << 20))
try:
    for i in range(24):
        os.pwrite(fd, os.urandom(1 << 20), i << 20)
    os.fsync(fd)
    print('wrote the preallocated range')
except OSError as e:
    print('failed at', i, errno.errorcode[e.errno])
print(os.fstat(fd).st_size)
`,
    [mnt],
  )
  // (less than 20 MiB free: without its reservation the 24 MiB of random data could not be written;
  // how much the filler leaves depends on when the write-back buffers hit ENOSPC)
  t.same(
    out,
    ['ok', 'filled ENOSPC True', 'wrote the preallocated range', String(24 << 20)],
    'every write into the preallocated range succeeds on a full image',
  )
  t.equal(umount(mnt).status, 0)
  checkClean(t, image)
})

t.test('fsx: random operations against a host file', async (t) => {
  const dir = tmpDir(t, 'fsx')
  const image = path.join(dir, 'x.img')
  mkfs(image, '256M')
  const {mnt} = mount(t, image, path.join(dir, 'mnt'))
  const r = spawnSync('python3', [FSX, path.join(mnt, 'fsx'), path.join(dir, 'host')], {
    encoding: 'utf8',
    timeout: 1800000,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines = r.stdout.trim().split('\n')
  t.comment(lines[0] ?? '')
  t.equal(
    r.status,
    0,
    r.status === 0 ? 'the mount file and the host file stayed identical' : `${r.stdout}\n${r.stderr}`,
  )
  if (r.status === 0) {
    const counts = JSON.parse(lines[lines.length - 1]!) as Record<string, number | string[]>
    t.comment(JSON.stringify(counts))
    for (const op of [
      'write',
      'write_direct',
      'mapwrite',
      'read',
      'read_direct',
      'mapread',
      'truncate',
      'fallocate',
      'fallocate_keep_size',
      'punch_hole',
      'zero_range',
      'zero_range_keep_size',
      'unsupported',
      'fsync',
      'fdatasync',
      'reopen',
    ])
      t.ok((counts[op] as number) > 0, `${op} ran (${counts[op]})`)
  }
  t.equal(umount(mnt).status, 0)
  checkClean(t, image)
})

t.test('the libfuse backend answers EOPNOTSUPP', async (t) => {
  const dir = tmpDir(t, 'falloc')
  const image = path.join(dir, 'l.img')
  mkfs(image, '16M')
  const {mnt, result} = mount(t, image, path.join(dir, 'mnt'), ['backend=libfuse'])
  if (result.status !== 0) return
  fs.writeFileSync(path.join(mnt, 'f'), 'data')
  const out = py(
    t,
    `
fd = os.open(sys.argv[1], os.O_RDWR)
for mode in (0, KEEP_SIZE, PUNCH_HOLE | KEEP_SIZE, ZERO_RANGE):
    print(falloc(fd, mode, 0, 4096))
print(os.fstat(fd).st_size, os.pread(fd, 10, 0))
`,
    [path.join(mnt, 'f')],
  )
  t.same(
    out,
    ['EOPNOTSUPP', 'EOPNOTSUPP', 'EOPNOTSUPP', 'EOPNOTSUPP', "4 b'data'"],
    'every mode fails cleanly and the file is untouched',
  )
  t.equal(umount(mnt).status, 0)
})
