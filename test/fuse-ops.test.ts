// The mount's filesystem layer without a mount: RazorFs (handles, write-back
// buffers, orphans) driven directly against an in-memory model of a file,
// so the buffering logic is checked even where FUSE is not available.
import t from 'tap'
import path from 'node:path'
import {Image} from '../src/core/index.js'
import {RazorFs} from '../src/fuse/ops.js'
import {Rng} from './helpers/rng.js'
import {tmpDir} from './helpers/image.js'

const ctx = {uid: 1000, gid: 1000, pid: 1}

/** The errno an operation fails with, or 'ok'. */
function errno(fn: () => unknown): string {
  try {
    fn()
    return 'ok'
  } catch (e) {
    return (e as {errno?: string}).errno ?? String(e)
  }
}
const O_RDWR = 2

t.test('random writes through the write-back buffers match a model', async (t) => {
  const seed = process.env.RAZORFS_TEST_SEED ?? 'fuse-ops'
  const rng = new Rng(seed)
  const image = path.join(tmpDir(t, 'ops'), 'o.img')
  const img = Image.create(image, {size: 256 << 20})
  // small limits, so buffers are written out often and at odd moments
  const fs = new RazorFs(img, {writeBack: {perFile: 512 << 10, total: 1 << 20}})
  const {stat, fh} = fs.create(ctx, 1, Buffer.from('f'), 0o644, O_RDWR)
  t.equal(stat.uid, 1000, 'created with the caller as owner')
  let model = Buffer.alloc(0)
  const problems: string[] = []
  for (let i = 0; i < 1500; i++) {
    const k = rng.int(0, 99)
    if (k < 55) {
      const off = rng.chance(0.5) ? model.length : rng.int(0, model.length + 300000)
      const data = rng.chance(0.3)
        ? Buffer.alloc(rng.int(1, 200000), rng.int(0, 3))
        : rng.bytes(rng.int(1, rng.chance(0.8) ? 8192 : 300000))
      fs.write(fh, off, data)
      if (off + data.length > model.length)
        model = Buffer.concat([model, Buffer.alloc(off + data.length - model.length)])
      data.copy(model, off)
    } else if (k < 75) {
      const off = rng.int(0, model.length + 10)
      const len = rng.int(1, 400000)
      const got = fs.read(fh, off, len)
      const want = model.subarray(Math.min(off, model.length), Math.min(model.length, off + len))
      if (!got.equals(want)) problems.push(`op ${i}: read ${off}+${len} differs`)
    } else if (k < 82) {
      const size = rng.int(0, model.length + 200000)
      fs.setattr(fs.inodeOf(fh), {size})
      model =
        size <= model.length
          ? Buffer.from(model.subarray(0, size))
          : Buffer.concat([model, Buffer.alloc(size - model.length)])
    } else if (k < 88) {
      const off = rng.int(0, model.length)
      const len = rng.int(1, 300000)
      // every mode (PUNCH_HOLE|KEEP_SIZE, ZERO_RANGE, ZERO_RANGE|KEEP_SIZE, 0, KEEP_SIZE) over buffered writes
      const mode = rng.pick([3, 3, 0x10, 0x11, 0, 1])
      fs.fallocate(fh, off, len, mode)
      if (mode & 0x12) model.fill(0, off, Math.min(model.length, off + len))
      if (!(mode & 1) && off + len > model.length)
        model = Buffer.concat([model, Buffer.alloc(off + len - model.length)])
    } else if (k < 94) {
      const size = fs.getattr(fs.inodeOf(fh)).size
      if (size !== model.length) problems.push(`op ${i}: getattr size ${size}, model ${model.length}`)
    } else if (k < 97) fs.fsync(fh)
    else fs.sync()
    if (problems.length > 5) break
  }
  t.same(problems, [], `1500 operations (seed ${seed})`)
  fs.flush(fh)
  fs.release(fh)
  t.ok(img.readFile(img.resolve('/f')).equals(model), 'after release the image holds the model')
  t.same(img.check({checkData: true}).problems, [])
  fs.close()
})

t.test('an open file unlinked is an orphan until released; its buffers go with it', async (t) => {
  const image = path.join(tmpDir(t, 'ops'), 'o.img')
  const img = Image.create(image, {size: 64 << 20})
  const fs = new RazorFs(img)
  const {fh, stat} = fs.create(ctx, 1, Buffer.from('doomed'), 0o600, O_RDWR)
  fs.write(fh, 0, Buffer.alloc(700000, 1))
  fs.unlink(1, Buffer.from('doomed'))
  t.equal(fs.lookup(1, Buffer.from('doomed')), undefined, 'the name is gone')
  t.equal(fs.getattr(stat.ino).nlink, 0)
  t.equal(fs.read(fh, 699990, 100).length, 10, 'still readable, buffered writes included')
  fs.release(fh)
  t.throws(() => fs.getattr(stat.ino), {code: 'ENOENT'}, 'freed at release')
  t.same(img.check().problems, [])
  fs.close()
})

t.test('setgid directories, rename flags, xattr flags', async (t) => {
  const image = path.join(tmpDir(t, 'ops'), 'o.img')
  const img = Image.create(image, {size: 64 << 20})
  const fs = new RazorFs(img)
  const d = fs.mkdir(ctx, 1, Buffer.from('shared'), 0o2775)
  fs.setattr(d.ino, {gid: 777})
  const sub = fs.mkdir({uid: 5, gid: 5, pid: 1}, d.ino, Buffer.from('sub'), 0o755)
  t.equal(sub.gid, 777, 'group from the set-group-ID directory')
  t.ok(sub.mode & 0o2000, 'which passes the bit on')
  const f = fs.mknod({uid: 5, gid: 5, pid: 1}, d.ino, Buffer.from('f'), 0o100644, 0)
  t.same([f.uid, f.gid], [5, 777])
  fs.mknod(ctx, 1, Buffer.from('a'), 0o100644, 0)
  fs.mknod(ctx, 1, Buffer.from('b'), 0o100644, 0)
  t.equal(
    errno(() => fs.rename(1, Buffer.from('a'), 1, Buffer.from('b'), 1)),
    'EEXIST',
    'RENAME_NOREPLACE',
  )
  t.equal(
    errno(() => fs.rename(1, Buffer.from('a'), 1, Buffer.from('b'), 2)),
    'EINVAL',
    'RENAME_EXCHANGE is not supported',
  )
  fs.setxattr(f.ino, 'user.x', Buffer.from('1'), 0)
  t.equal(
    errno(() => fs.setxattr(f.ino, 'user.x', Buffer.from('2'), 1)),
    'EEXIST',
    'XATTR_CREATE',
  )
  t.equal(
    errno(() => fs.setxattr(f.ino, 'user.y', Buffer.from('2'), 2)),
    'ENODATA',
    'XATTR_REPLACE',
  )
  t.equal(fs.getxattr(f.ino, 'user.x')?.toString(), '1')
  t.equal(fs.getxattr(f.ino, 'security.selinux'), undefined, 'a missing attribute')
  t.equal(
    errno(() => fs.setxattr(f.ino, 'system.posix_acl_access', Buffer.from('x'), 0)),
    'EOPNOTSUPP',
  )
  fs.removexattr(f.ino, 'user.x')
  t.same(fs.listxattr(f.ino), [], 'the name cache follows removals')
  fs.close()
})

t.test('fallocate answers what the kernel would, whatever reaches the server', async (t) => {
  const image = path.join(tmpDir(t, 'ops'), 'f.img')
  const img = Image.create(image, {size: 16 << 20})
  const fs = new RazorFs(img)
  const {fh} = fs.create(ctx, 1, Buffer.from('f'), 0o644, 2)
  fs.write(fh, 0, Buffer.alloc(65536, 0x78))
  fs.fallocate(fh, 0x5000, 0x1000, 0x10)
  t.equal(fs.getattr(fs.inodeOf(fh)).size, 0x10000, 'ZERO_RANGE over buffered writes keeps the size (issue 10)')
  t.ok(fs.read(fh, 0x6000, 0x10000).equals(Buffer.alloc(0xa000, 0x78)), 'and the bytes after the range')
  for (const [mode, what] of [
    [0x08, 'COLLAPSE_RANGE'],
    [0x20, 'INSERT_RANGE'],
    [0x40, 'UNSHARE_RANGE'],
    [0x02, 'PUNCH_HOLE without KEEP_SIZE'],
    [0x04, 'NO_HIDE_STALE'],
  ] as const)
    t.equal(
      errno(() => fs.fallocate(fh, 0, 4096, mode)),
      'EOPNOTSUPP',
      what,
    )
  t.equal(
    errno(() => fs.fallocate(fh, 2 ** 63 - 8192, 4096, 0)),
    'EFBIG',
    'a range near 2^63',
  )
  t.equal(
    errno(() => fs.fallocate(fh, 2 ** 53 - 4096, 4096, 1)),
    'EFBIG',
    'a range past 2^53 - 1',
  )
  t.equal(
    errno(() => fs.fallocate(fh, 0, 0, 0)),
    'EINVAL',
    'an empty range',
  )
  const before = fs.statfs().bfree
  t.equal(
    errno(() => fs.fallocate(fh, 0, 64 << 20, 0)),
    'ENOSPC',
    'more than the image holds',
  )
  t.same([fs.statfs().bfree, fs.getattr(fs.inodeOf(fh)).size], [before, 0x10000], 'with nothing changed')
  fs.release(fh)
  t.same(img.check({checkData: true}).problems, [])
  fs.close()
})
