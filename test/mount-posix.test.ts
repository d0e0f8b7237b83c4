// The POSIX behaviour suite on a real mount: every operation's success cases
// and errno cases, ownership and permission checks as an unprivileged user
// (nobody, through default_permissions), timestamps as POSIX says, rename
// corner cases and link counts. After all of it the image checks clean.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import {spawnSync} from 'node:child_process'
import {Image} from '../src/core/index.js'
import {cli, PROJECT, tmpDir} from './helpers/image.js'
import {mmapRead, mmapWrite, mount, mountUnavailable, NOBODY, umount} from './helpers/mount.js'

const skip = mountUnavailable()
if (skip) t.plan(0, skip)

const FSOPS = path.join(PROJECT, 'test/helpers/fsops.mjs')
const XATTR = path.join(PROJECT, 'test/helpers/xattr.pl')

/** 'ok' or the error code of a synchronous call. */
function code(fn: () => unknown): string {
  try {
    fn()
    return 'ok'
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e)
  }
}

type OpResult = {ok: unknown} | {error: string}

let work = ''

/** Run fs calls as nobody; each result is 'ok', a value, or the errno name. */
function nobody(ops: unknown[][]): unknown[] {
  const r = spawnSync(
    'setpriv',
    [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      '--clear-groups',
      process.execPath,
      path.join(work, 'fsops.mjs'),
      JSON.stringify(ops),
    ],
    {encoding: 'utf8', timeout: 60000},
  )
  if (r.status !== 0) throw new Error(`fsops as nobody failed: ${r.stderr}`)
  return (JSON.parse(r.stdout) as OpResult[]).map((x) => ('error' in x ? x.error : x.ok === true ? 'ok' : x.ok))
}

function xattr(...args: string[]): string {
  const r = spawnSync('perl', [XATTR, ...args], {encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`xattr.pl ${args.join(' ')}: ${r.stderr}`)
  return r.stdout.trim()
}

const sleep = (ms: number) => spawnSync('sleep', [String(ms / 1000)])
const ns = (s: fs.BigIntStats, w: 'atime' | 'mtime' | 'ctime') => s[`${w}Ns`]
const bstat = (p: string) => fs.lstatSync(p, {bigint: true})

t.test('POSIX behaviour on a mounted image', async (t) => {
  work = tmpDir(t, 'posix')
  fs.chmodSync(work, 0o755)
  fs.copyFileSync(FSOPS, path.join(work, 'fsops.mjs'))
  const image = path.join(work, 'p.img')
  t.equal(cli(['mkfs', image, '--size', '256M', '-q']).status, 0, 'mkfs')
  const m = path.join(work, 'mnt')
  const {pid} = mount(t, image, m, ['allow_other'])
  t.ok(pid > 0, `mounted, served by pid ${pid}`)
  const p = (...parts: string[]) => path.join(m, ...parts)

  t.test('create, write, read, stat', async (t) => {
    fs.writeFileSync(p('a'), 'hello world')
    t.equal(fs.readFileSync(p('a'), 'utf8'), 'hello world')
    const st = fs.statSync(p('a'))
    t.equal(st.size, 11)
    t.equal(st.nlink, 1)
    t.equal(st.mode, 0o100644, 'mode from the umask (022)')
    t.equal(st.uid, 0)
    const fd = fs.openSync(p('a'), 'r+')
    fs.writeSync(fd, Buffer.from('WORLD'), 0, 5, 6)
    fs.writeSync(fd, Buffer.from('!'), 0, 1, 20000)
    fs.closeSync(fd)
    const back = fs.readFileSync(p('a'))
    t.equal(back.length, 20001, 'a write past the end extends the file')
    t.equal(back.subarray(0, 11).toString(), 'hello WORLD')
    t.ok(back.subarray(11, 20000).equals(Buffer.alloc(19989)), 'the gap reads as zeros')
    fs.appendFileSync(p('a'), 'tail')
    t.equal(fs.readFileSync(p('a')).subarray(-5).toString(), '!tail', 'O_APPEND writes at the end')
    t.equal(
      code(() => fs.openSync(p('a'), 'wx')),
      'EEXIST',
      'O_CREAT|O_EXCL on an existing file',
    )
    t.equal(
      code(() => fs.readFileSync(p('missing'))),
      'ENOENT',
    )
    t.equal(
      code(() => fs.statSync(p('a', 'x'))),
      'ENOTDIR',
      'a file used as a directory',
    )
    fs.mkdirSync(p('dir'))
    t.equal(
      code(() => fs.openSync(p('dir'), 'r+')),
      'EISDIR',
      'a directory opened for writing',
    )
    t.equal(
      code(() => fs.readFileSync(p('dir'))),
      'EISDIR',
      'read(2) on a directory',
    )
    t.equal(
      code(() => fs.writeFileSync(p('x'.repeat(256)), '')),
      'ENAMETOOLONG',
      'a 256-byte name',
    )
    fs.writeFileSync(p('y'.repeat(255)), 'long')
    t.equal(fs.readFileSync(p('y'.repeat(255)), 'utf8'), 'long', 'a 255-byte name works')
    const odd = Buffer.concat([Buffer.from(m + '/'), Buffer.from([0x62, 0xff, 0x66])])
    fs.writeFileSync(odd, 'bytes')
    t.ok(
      fs.readdirSync(m, {encoding: 'buffer'}).some((n) => n.equals(Buffer.from([0x62, 0xff, 0x66]))),
      'a name that is not UTF-8 is listed as its bytes',
    )
    t.equal(fs.readFileSync(odd, 'utf8'), 'bytes', 'and opens')
    const big = Buffer.alloc(3 << 20)
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i)
    fs.writeFileSync(p('big'), big)
    t.ok(fs.readFileSync(p('big')).equals(big), '3 MiB written and read back in large requests')
  })

  t.test('truncate and ftruncate', async (t) => {
    fs.writeFileSync(p('tr'), 'abcdefghij')
    fs.truncateSync(p('tr'), 4)
    t.equal(fs.readFileSync(p('tr'), 'utf8'), 'abcd', 'shrink')
    const fd = fs.openSync(p('tr'), 'r+')
    fs.ftruncateSync(fd, 8)
    fs.closeSync(fd)
    t.same(fs.readFileSync(p('tr')), Buffer.from('abcd\0\0\0\0'), 'grow with zeros (ftruncate)')
    fs.writeFileSync(p('tr'), 'x')
    t.equal(fs.readFileSync(p('tr'), 'utf8'), 'x', 'O_TRUNC')
    t.equal(
      code(() => fs.truncateSync(p('dir'), 0)),
      'EISDIR',
      'truncate a directory',
    )
    t.equal(
      code(() => fs.truncateSync(p('nope'), 0)),
      'ENOENT',
    )
  })

  t.test('fsync, fdatasync, fsyncdir, sync', async (t) => {
    const fd = fs.openSync(p('synced'), 'w')
    fs.writeSync(fd, 'durable')
    t.equal(
      code(() => fs.fsyncSync(fd)),
      'ok',
      'fsync',
    )
    t.equal(
      code(() => fs.fdatasyncSync(fd)),
      'ok',
      'fdatasync',
    )
    fs.closeSync(fd)
    const dfd = fs.openSync(m, 'r')
    t.equal(
      code(() => fs.fsyncSync(dfd)),
      'ok',
      'fsync on a directory (fsyncdir)',
    )
    fs.closeSync(dfd)
    t.equal(spawnSync('sync', ['-f', p('synced')]).status, 0, 'syncfs')
  })

  t.test('unlink, and an unlinked file stays open', async (t) => {
    fs.writeFileSync(p('gone'), 'data')
    fs.unlinkSync(p('gone'))
    t.equal(
      code(() => fs.statSync(p('gone'))),
      'ENOENT',
      'unlinked',
    )
    t.equal(
      code(() => fs.unlinkSync(p('gone'))),
      'ENOENT',
      'twice',
    )
    t.equal(
      code(() => fs.unlinkSync(p('dir'))),
      'EISDIR',
      'unlink(2) on a directory',
    )
    const fd = fs.openSync(p('open'), 'w+')
    fs.writeSync(fd, 'still here')
    fs.unlinkSync(p('open'))
    t.notOk(fs.readdirSync(m).includes('open'), 'the name is gone at once')
    fs.writeSync(fd, ' and writable', 10)
    const buf = Buffer.alloc(64)
    const n = fs.readSync(fd, buf, 0, 64, 0)
    t.equal(buf.subarray(0, n).toString(), 'still here and writable', 'readable and writable until closed')
    t.equal(fs.fstatSync(fd).nlink, 0, 'fstat: nlink 0')
    fs.closeSync(fd)
  })

  t.test('mkdir, rmdir, readdir and directory link counts', async (t) => {
    fs.mkdirSync(p('d1'))
    t.equal(fs.statSync(p('d1')).nlink, 2, 'an empty directory has 2 links')
    const rootLinks = fs.statSync(m).nlink
    fs.mkdirSync(p('d1', 'sub'))
    t.equal(fs.statSync(p('d1')).nlink, 3, 'a subdirectory adds one')
    t.equal(
      code(() => fs.mkdirSync(p('d1'))),
      'EEXIST',
    )
    t.equal(
      code(() => fs.mkdirSync(p('no', 'such'))),
      'ENOENT',
    )
    t.equal(
      code(() => fs.mkdirSync(p('a', 'sub'))),
      'ENOTDIR',
    )
    t.equal(
      code(() => fs.rmdirSync(p('d1'))),
      'ENOTEMPTY',
    )
    t.equal(
      code(() => fs.rmdirSync(p('a'))),
      'ENOTDIR',
    )
    fs.rmdirSync(p('d1', 'sub'))
    t.equal(fs.statSync(p('d1')).nlink, 2, 'rmdir takes it back')
    fs.rmdirSync(p('d1'))
    t.equal(fs.statSync(m).nlink, rootLinks - 1, 'the parent loses the link of a removed subdirectory')
    fs.mkdirSync(p('many'))
    for (let i = 0; i < 1500; i++) fs.writeFileSync(p('many', `f${i}`), '')
    const names = fs.readdirSync(p('many'))
    t.equal(names.length, 1500, 'readdir lists 1500 entries across several requests')
    t.equal(new Set(names).size, 1500, 'no duplicates')
    const ls = spawnSync('ls', ['-a', p('d2nope')], {encoding: 'utf8'})
    t.not(ls.status, 0, 'ls of a missing directory fails')
    const la = spawnSync('ls', ['-a', m], {encoding: 'utf8'})
    t.match(la.stdout.split('\n').slice(0, 2), ['.', '..'], "readdir returns '.' and '..'")
    t.equal(
      code(() => fs.readdirSync(p('a'))),
      'ENOTDIR',
    )
  })

  t.test('rename corner cases', async (t) => {
    fs.writeFileSync(p('r1'), 'one')
    fs.writeFileSync(p('r2'), 'two')
    const ino = fs.statSync(p('r1')).ino
    fs.renameSync(p('r1'), p('r2'))
    t.equal(fs.readFileSync(p('r2'), 'utf8'), 'one', 'a file replaces a file')
    t.equal(fs.statSync(p('r2')).ino, ino, 'keeping its inode')
    t.equal(
      code(() => fs.statSync(p('r1'))),
      'ENOENT',
    )
    fs.mkdirSync(p('rd1'))
    fs.mkdirSync(p('rd2'))
    fs.mkdirSync(p('rfull'))
    fs.writeFileSync(p('rfull', 'f'), '')
    t.equal(
      code(() => fs.renameSync(p('r2'), p('rd1'))),
      'EISDIR',
      'a file over a directory',
    )
    t.equal(
      code(() => fs.renameSync(p('rd1'), p('r2'))),
      'ENOTDIR',
      'a directory over a file',
    )
    t.equal(
      code(() => fs.renameSync(p('rd1'), p('rfull'))),
      'ENOTEMPTY',
      'a directory over a non-empty directory',
    )
    fs.writeFileSync(p('rd1', 'inside'), 'x')
    fs.renameSync(p('rd1'), p('rd2'))
    t.equal(fs.readFileSync(p('rd2', 'inside'), 'utf8'), 'x', 'a directory replaces an empty directory')
    t.equal(
      code(() => fs.renameSync(p('rd2'), p('rd2', 'below'))),
      'EINVAL',
      'a directory into itself',
    )
    const before = {root: fs.statSync(m).nlink, full: fs.statSync(p('rfull')).nlink}
    fs.renameSync(p('rd2'), p('rfull', 'moved'))
    t.equal(fs.statSync(m).nlink, before.root - 1, 'moving a directory: the old parent loses a link')
    t.equal(fs.statSync(p('rfull')).nlink, before.full + 1, 'the new parent gains one')
    t.equal(fs.readFileSync(p('rfull', 'moved', 'inside'), 'utf8'), 'x')
    t.equal(
      spawnSync('sh', ['-c', 'cd "$1"/rfull/moved && cd .. && pwd', 'sh', m], {encoding: 'utf8'}).stdout.trim(),
      p('rfull'),
      "'..' follows the move",
    )
    fs.linkSync(p('r2'), p('r2link'))
    fs.renameSync(p('r2'), p('r2link'))
    t.ok(fs.existsSync(p('r2')) && fs.existsSync(p('r2link')), 'rename onto another link of the same file does nothing')
    t.equal(
      code(() => fs.renameSync(p('nothere'), p('x'))),
      'ENOENT',
    )
    t.equal(
      code(() => fs.renameSync(p('r2'), path.join(work, 'outside'))),
      'EXDEV',
      'to another filesystem',
    )
    // rename over a file that is open: the open file lives on
    fs.writeFileSync(p('victim'), 'old content')
    const fd = fs.openSync(p('victim'), 'r')
    fs.writeFileSync(p('newer'), 'new content')
    fs.renameSync(p('newer'), p('victim'))
    t.equal(fs.readFileSync(p('victim'), 'utf8'), 'new content')
    const buf = Buffer.alloc(20)
    t.equal(
      buf.subarray(0, fs.readSync(fd, buf, 0, 20, 0)).toString(),
      'old content',
      'the replaced file is still readable through its descriptor',
    )
    fs.closeSync(fd)
  })

  t.test('hard links and link counts', async (t) => {
    fs.writeFileSync(p('l1'), 'linked')
    fs.linkSync(p('l1'), p('l2'))
    t.equal(fs.statSync(p('l1')).nlink, 2)
    t.equal(fs.statSync(p('l1')).ino, fs.statSync(p('l2')).ino, 'the same inode')
    fs.appendFileSync(p('l2'), '!')
    t.equal(fs.readFileSync(p('l1'), 'utf8'), 'linked!', 'one file, two names')
    t.equal(
      code(() => fs.linkSync(p('l1'), p('l2'))),
      'EEXIST',
    )
    t.equal(
      code(() => fs.linkSync(p('dir'), p('dirlink'))),
      'EPERM',
      'no hard links to directories',
    )
    t.equal(
      code(() => fs.linkSync(p('nope'), p('x'))),
      'ENOENT',
    )
    fs.unlinkSync(p('l1'))
    t.equal(fs.statSync(p('l2')).nlink, 1, 'unlink takes one away')
  })

  t.test('symlink and readlink', async (t) => {
    fs.symlinkSync('l2', p('sym'))
    t.equal(fs.readlinkSync(p('sym')), 'l2')
    t.equal(fs.readFileSync(p('sym'), 'utf8'), 'linked!', 'followed')
    t.ok(fs.lstatSync(p('sym')).isSymbolicLink())
    t.equal(fs.lstatSync(p('sym')).size, 2, 'size is the target length')
    t.equal(
      code(() => fs.symlinkSync('x', p('sym'))),
      'EEXIST',
    )
    t.equal(
      code(() => fs.readlinkSync(p('l2'))),
      'EINVAL',
      'readlink on a file',
    )
    const long = 'd/'.repeat(2047) + 'x'
    fs.symlinkSync(long, p('longsym'))
    t.equal(fs.readlinkSync(p('longsym')), long, 'a 4095-byte target')
    fs.symlinkSync('nowhere/target', p('dangling'))
    t.equal(
      code(() => fs.statSync(p('dangling'))),
      'ENOENT',
      'a dangling symlink',
    )
  })

  t.test('mknod: fifos, devices, sockets', async (t) => {
    t.equal(spawnSync('mkfifo', [p('fifo')]).status, 0)
    t.ok(fs.statSync(p('fifo')).isFIFO())
    t.equal(spawnSync('mknod', [p('null'), 'c', '1', '3']).status, 0)
    const st = fs.statSync(p('null'))
    t.ok(st.isCharacterDevice())
    t.equal(st.rdev, 0x103, 'rdev 1,3')
    t.equal(spawnSync('mknod', [p('blk'), 'b', '7', '1000']).status, 0)
    t.equal(
      fs.statSync(p('blk')).rdev,
      7 * 256 + (1000 & 0xff) + ((1000 & ~0xff) << 12),
      'rdev 7,1000 (minor above 255)',
    )
    t.equal(
      code(() => fs.readFileSync(p('null'))),
      'EACCES',
      'nodev: a device node does not act as one',
    )
    const s = spawnSync('sh', ['-c', 'echo through-the-fifo > "$1" & cat "$1"; wait', 'sh', p('fifo')], {
      encoding: 'utf8',
      timeout: 10000,
    })
    t.equal(s.stdout.trim(), 'through-the-fifo', 'a fifo works (the kernel handles its data)')
  })

  t.test('chmod, chown, utimens', async (t) => {
    fs.writeFileSync(p('attr'), 'x')
    fs.chmodSync(p('attr'), 0o4751)
    t.equal(fs.statSync(p('attr')).mode & 0o7777, 0o4751)
    fs.chownSync(p('attr'), 1234, 5678)
    const st = fs.statSync(p('attr'))
    t.same([st.uid, st.gid], [1234, 5678])
    t.equal(st.mode & 0o7777, 0o751, 'chown clears set-user-ID')
    spawnSync('touch', ['-d', '2001-02-03 04:05:06.123456789', p('attr')])
    let b = bstat(p('attr'))
    t.equal(ns(b, 'mtime'), 981173106123456789n, 'mtime with nanoseconds')
    t.equal(ns(b, 'atime'), 981173106123456789n, 'atime with nanoseconds')
    spawnSync('touch', ['-m', '-d', '2002-01-01 00:00:00.5', p('attr')])
    b = bstat(p('attr'))
    t.equal(ns(b, 'mtime'), 1009843200500000000n, 'touch -m sets only mtime')
    t.equal(ns(b, 'atime'), 981173106123456789n, '... and leaves atime')
    spawnSync('touch', ['-a', '-d', '2003-01-01', p('attr')])
    b = bstat(p('attr'))
    t.equal(ns(b, 'atime'), 1041379200000000000n, 'touch -a sets only atime')
    t.equal(ns(b, 'mtime'), 1009843200500000000n, '... and leaves mtime')
    const ctime0 = ns(b, 'ctime')
    sleep(20)
    spawnSync('touch', [p('attr')])
    b = bstat(p('attr'))
    const nowNs = BigInt(Date.now()) * 1000000n
    t.ok(
      nowNs - ns(b, 'mtime') < 5000000000n && ns(b, 'atime') === ns(b, 'mtime'),
      'touch (UTIME_NOW) sets both to now',
    )
    t.ok(ns(b, 'ctime') > ctime0, 'and changes ctime')
    fs.utimesSync(p('attr'), new Date(-1e11), new Date(-1e11))
    t.equal(fs.statSync(p('attr')).mtimeMs, -1e11, 'a time before 1970')
  })

  t.test('timestamps as POSIX says', async (t) => {
    fs.mkdirSync(p('ts'))
    const d0 = bstat(p('ts'))
    sleep(20)
    fs.writeFileSync(p('ts', 'f'), 'a')
    const d1 = bstat(p('ts'))
    t.ok(
      ns(d1, 'mtime') > ns(d0, 'mtime') && ns(d1, 'ctime') > ns(d0, 'ctime'),
      'create: the directory mtime and ctime',
    )
    const f0 = bstat(p('ts', 'f'))
    sleep(20)
    fs.appendFileSync(p('ts', 'f'), 'b')
    const f1 = bstat(p('ts', 'f'))
    t.ok(ns(f1, 'mtime') > ns(f0, 'mtime') && ns(f1, 'ctime') > ns(f0, 'ctime'), 'write: mtime and ctime')
    t.equal(ns(f1, 'atime'), ns(f0, 'atime'), 'write: not atime')
    sleep(20)
    fs.readFileSync(p('ts', 'f'))
    const f2 = bstat(p('ts', 'f'))
    t.ok(ns(f2, 'atime') > ns(f1, 'atime'), 'read: atime (relatime: it was older than mtime)')
    t.equal(ns(f2, 'mtime'), ns(f1, 'mtime'), 'read: not mtime')
    sleep(20)
    fs.readFileSync(p('ts', 'f'))
    t.equal(ns(bstat(p('ts', 'f')), 'atime'), ns(f2, 'atime'), 'relatime: a second read leaves atime')
    sleep(20)
    fs.chmodSync(p('ts', 'f'), 0o600)
    const f3 = bstat(p('ts', 'f'))
    t.ok(ns(f3, 'ctime') > ns(f2, 'ctime'), 'chmod: ctime')
    t.equal(ns(f3, 'mtime'), ns(f2, 'mtime'), 'chmod: not mtime')
    sleep(20)
    const dBefore = bstat(p('ts'))
    fs.linkSync(p('ts', 'f'), p('ts', 'g'))
    const f4 = bstat(p('ts', 'f'))
    t.ok(ns(f4, 'ctime') > ns(f3, 'ctime'), 'link: the file ctime')
    t.ok(ns(bstat(p('ts')), 'mtime') > ns(dBefore, 'mtime'), 'link: the directory mtime')
    sleep(20)
    fs.mkdirSync(p('ts2'))
    const other0 = bstat(p('ts2'))
    sleep(20)
    fs.renameSync(p('ts', 'g'), p('ts2', 'g'))
    t.ok(ns(bstat(p('ts2', 'g')), 'ctime') > ns(f4, 'ctime'), 'rename: the file ctime')
    t.ok(ns(bstat(p('ts2')), 'mtime') > ns(other0, 'mtime'), 'rename: the new directory mtime')
    sleep(20)
    const f5 = bstat(p('ts', 'f'))
    fs.unlinkSync(p('ts2', 'g'))
    t.ok(ns(bstat(p('ts', 'f')), 'ctime') > ns(f5, 'ctime'), 'unlink: the other link ctime')
    sleep(20)
    fs.truncateSync(p('ts', 'f'), 1)
    const f6 = bstat(p('ts', 'f'))
    t.ok(ns(f6, 'mtime') > ns(f5, 'mtime') && ns(f6, 'ctime') > ns(f5, 'ctime'), 'truncate: mtime and ctime')
  })

  t.test('statfs and access', async (t) => {
    const r = spawnSync('stat', ['-f', '-c', '%S %b %a %l %T', m], {encoding: 'utf8'})
    const [bs, blocks, avail, namemax] = r.stdout.trim().split(' ')
    t.equal(Number(bs), 4096, 'block size')
    t.equal(Number(blocks), 65536, '256 MiB in blocks')
    t.ok(Number(avail) > 0 && Number(avail) < 65536, 'available blocks')
    t.equal(Number(namemax), 255, 'name max')
    t.equal(
      code(() => fs.accessSync(p('a'), fs.constants.R_OK | fs.constants.W_OK)),
      'ok',
    )
    t.equal(
      code(() => fs.accessSync(p('a'), fs.constants.X_OK)),
      'EACCES',
      'not executable, even for root',
    )
    t.equal(
      code(() => fs.accessSync(p('nope'))),
      'ENOENT',
    )
  })

  t.test('extended attributes', async (t) => {
    const f = p('a')
    t.equal(xattr('set', f, 'user.color', Buffer.from('blue').toString('hex'), '0'), 'ok')
    t.equal(xattr('get', f, 'user.color', '0'), 'size 4', 'size query')
    t.equal(xattr('get', f, 'user.color', '64'), Buffer.from('blue').toString('hex'))
    t.equal(xattr('get', f, 'user.color', '2'), 'errno ERANGE', 'buffer too small')
    t.equal(xattr('get', f, 'user.none', '64'), 'errno ENODATA')
    t.equal(xattr('set', f, 'user.color', '00', '1'), 'errno EEXIST', 'XATTR_CREATE on an existing name')
    t.equal(xattr('set', f, 'user.other', '00', '2'), 'errno ENODATA', 'XATTR_REPLACE on a missing name')
    t.equal(xattr('set', f, 'trusted.t', '0102', '0'), 'ok', 'trusted. (root)')
    t.equal(xattr('list', f, '100').split('\n').sort().join(','), 'trusted.t,user.color')
    t.equal(xattr('list', f, '3'), 'errno ERANGE', 'list buffer too small')
    t.equal(xattr('set', f, 'user.big', 'fill:65536:07', '0'), 'ok', 'a 64 KiB value')
    t.equal(xattr('get', f, 'user.big', '65536'), '07'.repeat(65536))
    t.equal(xattr('remove', f, 'user.color'), 'ok')
    t.equal(xattr('remove', f, 'user.color'), 'errno ENODATA', 'remove twice')
    t.match(xattr('set', f, 'bogus.x', '00', '0'), /^errno E(OPNOTSUPP|NOTSUP)$/, 'unknown namespace: EOPNOTSUPP')
  })

  t.test('ownership and permissions as an unprivileged user', async (t) => {
    fs.mkdirSync(p('pub'), {mode: 0o777})
    fs.chmodSync(p('pub'), 0o1777)
    fs.writeFileSync(p('pub', 'rootfile'), 'root')
    fs.writeFileSync(p('secret'), 'secret')
    fs.chmodSync(p('secret'), 0o600)
    fs.mkdirSync(p('sgid'))
    fs.chownSync(p('sgid'), 0, 4321)
    fs.chmodSync(p('sgid'), 0o2777)
    const r = nobody([
      ['readFile', p('secret')],
      ['readFile', p('a')],
      ['writeFile', p('a'), 'x'],
      ['create', p('nobodyfile'), 0o644],
      ['create', p('pub', 'mine'), 0o640],
      ['stat', p('pub', 'mine')],
      ['unlink', p('pub', 'rootfile')],
      ['chmod', p('a'), 0o777],
      ['chown', p('pub', 'mine'), 0, 0],
      ['chmod', p('pub', 'mine'), 0o600],
      ['utimes', p('a'), 1000, 1000],
      ['touchNow', p('a')],
      ['touchNow', p('pub', 'mine')],
      ['utimes', p('pub', 'mine'), 1000, 1000],
      ['mkdir', p('sgid', 'sub'), 0o755],
      ['stat', p('sgid', 'sub')],
      ['create', p('sgid', 'f'), 0o644],
      ['stat', p('sgid', 'f')],
      ['rename', p('pub', 'mine'), p('moved')],
      ['truncate', p('a'), 0],
      ['access', p('secret'), fs.constants.R_OK],
      ['access', p('pub', 'mine'), fs.constants.W_OK],
      ['readdir', p('pub')],
      ['mkdir', p('pub', 'nd'), 0o700],
      ['create', p('pub', 'nd', 'f'), 0o600],
      ['rmdir', p('pub', 'nd')],
      ['unlink', p('pub', 'nd', 'f')],
      ['rmdir', p('pub', 'nd')],
      ['link', p('secret'), p('pub', 'stolen')],
    ])
    let i = 0
    const next = () => r[i++]
    t.equal(next(), 'EACCES', 'read a 0600 file of root')
    t.match(next(), /^hello WORLD\0/, 'read a 0644 file of root')
    t.equal(next(), 'EACCES', 'write a 0644 file of root')
    t.equal(next(), 'EACCES', "create in root's 0755 directory")
    t.equal(next(), 'ok', 'create in a 1777 directory')
    t.same(
      next(),
      {uid: NOBODY, gid: NOBODY, mode: 0o100640, nlink: 1, size: 0},
      'a new file belongs to its creator, mode from create',
    )
    t.equal(next(), 'EPERM', "sticky directory: cannot remove root's file")
    t.equal(next(), 'EPERM', "chmod of root's file")
    t.equal(next(), 'EPERM', 'chown to another user')
    t.equal(next(), 'ok', 'chmod of an own file')
    t.equal(next(), 'EPERM', "setting explicit times on root's file")
    t.equal(next(), 'EACCES', 'touching (now) a file one cannot write')
    t.equal(next(), 'ok', 'touching an own file')
    t.equal(next(), 'ok', 'explicit times on an own file')
    t.equal(next(), 'ok', 'mkdir in a set-group-ID directory')
    const sub = next() as {gid: number; mode: number}
    t.equal(sub.gid, 4321, "a subdirectory takes the set-group-ID directory's group")
    t.ok(sub.mode & 0o2000, 'and is set-group-ID itself')
    t.equal(next(), 'ok')
    t.equal((next() as {gid: number}).gid, 4321, "a file takes the directory's group")
    t.equal(next(), 'EACCES', "rename into root's 0755 directory")
    t.equal(next(), 'EACCES', "truncate root's file")
    t.equal(next(), 'EACCES', 'access(R_OK) of a 0600 file')
    t.equal(next(), 'ok', 'access(W_OK) of an own 0600 file')
    t.same(next(), ['mine', 'rootfile'], 'readdir of the public directory')
    t.equal(next(), 'ok', 'mkdir 0700 in the public directory')
    t.equal(next(), 'ok', 'create inside it')
    t.equal(next(), 'ENOTEMPTY')
    t.equal(next(), 'ok')
    t.equal(next(), 'ok', 'rmdir an own empty directory')
    t.equal(next(), 'EPERM', 'a hard link to a file one cannot read or write (protected_hardlinks)')
  })

  t.test('mmap reads and writes reach the image', async (t) => {
    const data = Buffer.alloc(200000)
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff
    fs.writeFileSync(p('mapped'), data)
    mmapWrite(p('mapped'), 123456, Buffer.from('through a shared mapping'))
    t.equal(
      mmapRead(p('mapped'), 123450, 30).subarray(6).toString(),
      'through a shared mapping',
      'mmap read sees the mmap write',
    )
    const back = fs.readFileSync(p('mapped'))
    t.equal(back.subarray(123456, 123456 + 24).toString(), 'through a shared mapping', 'read(2) sees it')
    t.ok(back.subarray(0, 123456).equals(data.subarray(0, 123456)), 'the rest is unchanged')
  })

  t.test('punching holes', async (t) => {
    const data = Buffer.alloc(1 << 20, 0x5a)
    fs.writeFileSync(p('holey'), data)
    t.equal(
      spawnSync('fallocate', ['-p', '-o', '131072', '-l', '262144', p('holey')]).status,
      0,
      'fallocate --punch-hole',
    )
    const back = fs.readFileSync(p('holey'))
    t.equal(back.length, 1 << 20, 'size kept')
    t.ok(back.subarray(131072, 393216).equals(Buffer.alloc(262144)), 'the hole reads as zeros')
    t.ok(
      back.subarray(0, 131072).equals(data.subarray(0, 131072)) && back.subarray(393216).equals(data.subarray(393216)),
      'the rest is kept',
    )
    t.ok(fs.statSync(p('holey')).blocks * 512 < 1 << 20, 'the hole takes no space')
    t.equal(
      spawnSync('fallocate', ['-l', '1000000', p('prealloc')]).status,
      0,
      'fallocate(1) preallocates (every mode: mount-fallocate.test.ts)',
    )
    t.equal(fs.statSync(p('prealloc')).size, 1000000, 'and sets the size')
  })

  t.test('a second mount, or a writer, is refused while mounted', async (t) => {
    const m2 = path.join(work, 'mnt2')
    fs.mkdirSync(m2)
    const r = cli(['mount', image, m2])
    t.equal(r.status, 1, 'second mount: exit 1')
    t.match(r.stderr, /in use by pid \d+/, r.stderr.trim())
    t.notOk(fs.readFileSync('/proc/self/mounts', 'utf8').includes(m2), 'nothing is mounted there')
    t.throws(() => Image.open(image, {readOnly: false}), {code: 'EBUSY'}, 'a writer (cp, mkfs --force) gets EBUSY')
  })

  t.test('unmount leaves a clean image', async (t) => {
    const r = umount(m)
    t.equal(r.status, 0, r.stderr)
    const img = Image.open(image)
    t.equal(img.info().state, 'clean', 'marked clean')
    t.same(img.check({checkData: true}).problems, [], 'checks clean')
    t.equal(img.readFile(img.resolve('/pub/../a')).subarray(0, 11).toString(), 'hello WORLD', 'content is in the image')
    t.equal(img.stat(img.resolve('/sgid/f')).uid, NOBODY, 'ownership is in the image')
    img.close()
  })
})

t.test('read-only mount: EROFS', async (t) => {
  const dir = tmpDir(t, 'ro')
  const image = path.join(dir, 'r.img')
  t.equal(
    cli(['mkfs', image, '--size', '16M', '--root', path.join(PROJECT, 'fixtures/sample-tree'), '-q', '--force']).status,
    0,
  )
  const before = fs.readFileSync(image)
  const m = path.join(dir, 'mnt')
  mount(t, image, m, ['ro'])
  t.equal(fs.readFileSync(path.join(m, 'etc/motd'), 'utf8').split('\n')[0], 'Welcome to a RAZORFS image.', 'reads work')
  t.equal(
    code(() => fs.writeFileSync(path.join(m, 'new'), 'x')),
    'EROFS',
  )
  t.equal(
    code(() => fs.mkdirSync(path.join(m, 'd'))),
    'EROFS',
  )
  t.equal(
    code(() => fs.unlinkSync(path.join(m, 'etc/motd'))),
    'EROFS',
  )
  t.equal(
    code(() => fs.chmodSync(path.join(m, 'etc/motd'), 0o777)),
    'EROFS',
  )
  t.notOk(fs.existsSync(`${image}.lock`), 'a read-only mount takes no writer lock')
  t.equal(umount(m).status, 0)
  t.ok(fs.readFileSync(image).equals(before), 'the image file is not changed at all')
})

t.test('ENOSPC: a full image fails writes, frees space on unlink, stays consistent', async (t) => {
  const dir = tmpDir(t, 'full')
  const image = path.join(dir, 'f.img')
  t.equal(cli(['mkfs', image, '--size', '8M', '--compression', 'none', '-q']).status, 0)
  const m = path.join(dir, 'mnt')
  mount(t, image, m)
  const chunk = Buffer.alloc(256 * 1024)
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 131) & 0xff
  let err = 'ok'
  let written = 0
  const fd = fs.openSync(path.join(m, 'fill'), 'w')
  try {
    for (let i = 0; i < 64; i++) written += fs.writeSync(fd, chunk)
    fs.fsyncSync(fd)
  } catch (e) {
    err = (e as NodeJS.ErrnoException).code ?? String(e)
  }
  try {
    fs.closeSync(fd)
  } catch (e) {
    if (err === 'ok') err = (e as NodeJS.ErrnoException).code ?? String(e)
  }
  t.equal(err, 'ENOSPC', `writing 16 MiB into 8 MiB: ENOSPC after ${written} bytes`)
  t.equal(
    code(() => fs.mkdirSync(path.join(m, 'x'.repeat(200)))),
    'ok',
    'metadata still fits',
  )
  fs.unlinkSync(path.join(m, 'fill'))
  fs.writeFileSync(path.join(m, 'again'), chunk)
  t.ok(fs.readFileSync(path.join(m, 'again')).equals(chunk), 'space is usable again after unlink')
  t.equal(umount(m).status, 0)
  const img = Image.open(image)
  t.same(img.check({checkData: true}).problems, [], 'checks clean')
  img.close()
})
