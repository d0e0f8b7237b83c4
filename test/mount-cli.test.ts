// razorfs mount / umount as commands: detaching once live, errors as one
// line with the documented exit status, signals (SIGTERM, SIGINT) and
// umount(8) ending a foreground mount with status 0 and a clean image, busy
// mounts, the libfuse (fuse-native) backend, and ls -l of a 100,000-entry
// directory in linear time.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import {spawn, spawnSync} from 'node:child_process'
import {Image} from '../src/core/index.js'
import {BIN, cli, tmpDir} from './helpers/image.js'
import {forceUnmount, mount, mountUnavailable, umount, waitFor} from './helpers/mount.js'
import {jsonResult, jsonError} from './helpers/envelope.js'

const skip = mountUnavailable()
if (skip) t.plan(0, skip)

const mounted = (mnt: string) =>
  fs
    .readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[1] === mnt)

function mkfs(image: string, ...extra: string[]): void {
  const r = cli(['mkfs', image, '--size', '64M', '-q', ...extra])
  if (r.status !== 0) throw new Error(r.stderr)
}

t.test('errors: one line, documented exit status, nothing left mounted', async (t) => {
  const dir = tmpDir(t, 'mcli')
  const image = path.join(dir, 'e.img')
  mkfs(image)
  const mnt = path.join(dir, 'mnt')
  fs.mkdirSync(mnt)
  fs.writeFileSync(path.join(dir, 'not.img'), 'hello')
  const cases: Array<[string[], number, RegExp]> = [
    [['mount', path.join(dir, 'missing.img'), mnt], 4, /missing\.img: no such file or directory/],
    [['mount', image, path.join(dir, 'nodir')], 4, /nodir: no such directory/],
    [['mount', image, image], 4, /not a directory/],
    [['mount', path.join(dir, 'not.img'), mnt], 3, /not a RAZORFS image/],
    [['mount', image, mnt, '-o', 'bogus'], 2, /unknown mount option 'bogus'/],
    [['mount', image, mnt, '-o', 'commit=x'], 2, /commit=x/],
    [['umount', mnt], 1, /no RAZORFS image is mounted there/],
  ]
  for (const [args, exit, msg] of cases) {
    const r = cli(args)
    t.equal(r.status, exit, `${args.join(' ')}: exit ${exit}`)
    t.match(r.stderr, msg, r.stderr.trim())
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line')
    t.notOk(mounted(mnt), 'nothing mounted')
  }
  const nolib = cli(['mount', image, mnt, '-o', 'backend=libfuse'], {
    env: {RAZORFS_FUSE_NATIVE: 'fuse-native-not-installed'},
  })
  t.equal(nolib.status, 1, 'without fuse-native/libfuse2: exit 1')
  t.match(
    nolib.stderr,
    /^razorfs: cannot load fuse-native and libfuse2 \(.*\); install them with: sudo apt-get install libfuse2 fuse\n$/,
    nolib.stderr.trim(),
  )
  t.notOk(fs.existsSync(`${image}.lock`), 'and the image is released')
  const j = cli(['mount', path.join(dir, 'missing.img'), mnt, '--json'])
  t.equal(jsonError(j.stdout).code, 'ENOENT', '--json error envelope')
})

t.test('detaching: returns once the mount is live; umount waits for a clean image', async (t) => {
  const dir = tmpDir(t, 'mcli')
  const image = path.join(dir, 'd.img')
  mkfs(image)
  const mnt = path.join(dir, 'mnt')
  const {result, pid} = mount(t, image, mnt)
  const info = jsonResult(result.stdout) as {
    image: string
    mountpoint: string
    backend: string
    readOnly: boolean
    pid: number
  }
  t.match(info, {image, mountpoint: mnt, backend: 'kernel', readOnly: false}, '--json describes the mount')
  t.ok(mounted(mnt), 'mounted when the command returns')
  t.not(pid, process.pid)
  fs.writeFileSync(path.join(mnt, 'f'), 'data')
  const plain = cli(['mount', image, path.join(dir, 'mnt')])
  t.equal(plain.status, 1, 'mounting it again is refused')
  // busy: a process has its working directory there
  const busy = spawn('sleep', ['30'], {cwd: mnt, stdio: 'ignore'})
  t.ok(
    waitFor(() => {
      try {
        return fs.readlinkSync(`/proc/${busy.pid}/cwd`) === mnt
      } catch {
        return false
      }
    }),
    'a process works in the mount',
  )
  const r = cli(['umount', mnt])
  t.equal(r.status, 1, 'umount of a busy mount fails')
  t.match(r.stderr, /busy.*--lazy/, r.stderr.trim())
  t.ok(mounted(mnt), 'and leaves it mounted')
  busy.kill()
  await new Promise((res) => busy.on('close', res))
  const u = cli(['umount', mnt, '--json'])
  t.equal(u.status, 0, u.stderr)
  t.match(jsonResult(u.stdout), {mountpoint: mnt, image, closed: true}, 'umount reports the image closed')
  t.notOk(mounted(mnt))
  t.notOk(fs.existsSync(`${image}.lock`), 'the lock is released')
  const img = Image.open(image)
  t.equal(img.info().state, 'clean')
  t.equal(img.readFile(img.resolve('/f')).toString(), 'data')
  img.close()
})

function foreground(image: string, mnt: string, ...opts: string[]) {
  fs.mkdirSync(mnt, {recursive: true})
  const child = spawn(process.execPath, [BIN, 'mount', image, mnt, '--foreground', ...opts], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {...process.env, NO_COLOR: '1'},
  })
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const exit = new Promise<number | null>((res) => child.on('close', (code) => res(code)))
  return {child, exit, stderr: () => stderr}
}

for (const how of ['SIGTERM', 'SIGINT', 'umount(8)'] as const) {
  t.test(`--foreground: ${how} unmounts, writes everything, exits 0`, async (t) => {
    const dir = tmpDir(t, 'mcli')
    const image = path.join(dir, 'f.img')
    mkfs(image)
    const mnt = path.join(dir, 'mnt')
    t.teardown(() => forceUnmount(mnt))
    const fg = foreground(image, mnt)
    t.ok(
      waitFor(() => mounted(mnt)),
      'mounted',
    )
    // data still in the write-back buffers and not yet committed
    const fd = fs.openSync(path.join(mnt, 'buffered'), 'w')
    fs.writeSync(fd, Buffer.alloc(3 << 20, 0x33))
    fs.closeSync(fd)
    if (how === 'umount(8)') t.equal(spawnSync('umount', [mnt]).status, 0)
    else fg.child.kill(how)
    t.equal(await fg.exit, 0, `exit status 0 (${fg.stderr().trim().split('\n').pop()})`)
    t.notOk(mounted(mnt), 'unmounted')
    const img = Image.open(image)
    t.equal(img.info().state, 'clean', 'the image is clean')
    t.ok(img.readFile(img.resolve('/buffered')).equals(Buffer.alloc(3 << 20, 0x33)), 'everything written is in it')
    t.same(img.check().problems, [])
    img.close()
  })
}

t.test('umount of a mount whose process was killed', async (t) => {
  const dir = tmpDir(t, 'mcli')
  const image = path.join(dir, 'k.img')
  mkfs(image)
  const mnt = path.join(dir, 'mnt')
  const {pid} = mount(t, image, mnt)
  fs.writeFileSync(path.join(mnt, 'f'), 'x')
  process.kill(pid, 'SIGKILL')
  t.ok(
    waitFor(() => {
      try {
        fs.statSync(mnt)
        return false
      } catch (e) {
        return (e as NodeJS.ErrnoException).code === 'ENOTCONN'
      }
    }),
    'the mount is dead (ENOTCONN)',
  )
  // razorfs mount over the dead mount cleans it up first, and says so
  const again = cli(['mount', image, mnt, '--json'])
  t.equal(again.status, 0, 'mounting over a dead mount cleans it up')
  t.match(cli(['mount', image, mnt]).stderr, /in use by pid/, 'the new mount is live and holds the image')
  const pid2 = (jsonResult(again.stdout) as {pid: number}).pid
  fs.writeFileSync(path.join(mnt, 'g'), 'y')
  process.kill(pid2, 'SIGKILL')
  t.ok(
    waitFor(() => {
      try {
        fs.statSync(mnt)
        return false
      } catch (e) {
        return (e as NodeJS.ErrnoException).code === 'ENOTCONN'
      }
    }),
    'dead again',
  )
  const started = Date.now()
  const r = cli(['umount', mnt])
  t.equal(r.status, 0, 'razorfs umount detaches it')
  t.match(r.stderr, /the process serving .* is gone; .*detached the dead mount/, r.stderr.trim())
  t.ok(Date.now() - started < 20000, 'without waiting for a lock no one will release')
  t.notOk(mounted(mnt))
  const img = Image.open(image, {readOnly: false})
  t.ok(img.recovery, 'the next open recovers the image')
  t.same(img.check().problems, [])
  img.close()
})

t.test('the libfuse backend (fuse-native)', async (t) => {
  const dir = tmpDir(t, 'mcli')
  const image = path.join(dir, 'l.img')
  mkfs(image)
  const mnt = path.join(dir, 'mnt')
  const {result} = mount(t, image, mnt, ['backend=libfuse'])
  if (result.status !== 0) return
  t.equal((jsonResult(result.stdout) as {backend: string}).backend, 'libfuse')
  const p = (n: string) => path.join(mnt, n)
  fs.writeFileSync(p('f'), 'through libfuse')
  t.equal(fs.readFileSync(p('f'), 'utf8'), 'through libfuse')
  fs.mkdirSync(p('d'))
  fs.renameSync(p('f'), p('d/g'))
  fs.linkSync(p('d/g'), p('h'))
  t.equal(fs.statSync(p('h')).nlink, 2)
  fs.symlinkSync('d/g', p('s'))
  t.equal(fs.readFileSync(p('s'), 'utf8'), 'through libfuse')
  fs.utimesSync(p('h'), 1000, 2000.5)
  const st = fs.statSync(p('h'))
  t.same(
    [st.atimeMs, st.mtimeMs],
    [1000000, 2000500],
    'atime and mtime both set (fuse-native passes atime twice; razorfs reads the real mtime)',
  )
  const big = Buffer.alloc(5 << 20)
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i)
  fs.writeFileSync(p('big'), big)
  t.ok(fs.readFileSync(p('big')).equals(big), '5 MiB round trip')
  const fd = fs.openSync(p('open'), 'w+')
  fs.writeSync(fd, 'alive')
  fs.unlinkSync(p('open'))
  t.same(fs.readdirSync(mnt).sort(), ['big', 'd', 'h', 's'], 'an unlinked open file leaves no .fuse_hidden name')
  const b = Buffer.alloc(10)
  t.equal(b.subarray(0, fs.readSync(fd, b, 0, 10, 0)).toString(), 'alive', 'and stays readable')
  fs.closeSync(fd)
  t.equal(umount(mnt).status, 0)
  const img = Image.open(image)
  t.same(img.check({checkData: true}).problems, [], 'checks clean (the hidden file was freed)')
  t.equal(img.info().inodeCount, 5, 'root, d, g (also h), s, big')
  img.close()
})

t.test('ls -l of a 100,000-entry directory is linear', async (t) => {
  const dir = tmpDir(t, 'mcli')
  fs.chmodSync(dir, 0o755)
  const image = path.join(dir, 'big.img')
  const img = Image.create(image, {size: 512 << 20})
  const sizes = [10000, 100000]
  for (const n of sizes) {
    const d = img.mkdir(1, `d${n}`, {})
    for (let i = 0; i < n; i++) img.create(d, `file-with-a-longer-name-${i}`, {mode: 0o644})
  }
  img.close()
  const mnt = path.join(dir, 'mnt')
  mount(t, image, mnt)
  const ms: number[] = []
  for (const n of sizes) {
    const started = process.hrtime.bigint()
    const r = spawnSync('ls', ['-l', path.join(mnt, `d${n}`)], {maxBuffer: 1 << 28, encoding: 'utf8'})
    ms.push(Number(process.hrtime.bigint() - started) / 1e6)
    t.equal(r.stdout.split('\n').filter((l) => l.startsWith('-rw-r--r--')).length, n, `ls -l lists ${n} files`)
  }
  const ratio = ms[1]! / ms[0]!
  t.comment(
    `ls -l: ${sizes[0]} entries ${ms[0]!.toFixed(0)} ms, ${sizes[1]} entries ${ms[1]!.toFixed(0)} ms (ratio ${ratio.toFixed(1)}; linear 10, quadratic 100)`,
  )
  t.ok(ratio < 25, `10x the entries take ${ratio.toFixed(1)}x the time (linear: 10, quadratic: 100)`)
  t.equal(umount(mnt).status, 0)
})
