// Durability on a mount: each documented way to make writes durable
// (razorfs sync, fsync and fdatasync of a file, fsync of a directory) is
// followed at once by SIGKILL of the serving process; the remount must hold
// what it promised. Mounted with -o commit=0, so nothing else commits.
// Also razorfs sync's errors, and -o ro.
import t from 'tap'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {spawnSync} from 'node:child_process'
import {cli, tmpDir} from './helpers/image.js'
import {forceUnmount, mount, mountUnavailable, umount, waitFor} from './helpers/mount.js'
import {jsonResult, jsonError} from './helpers/envelope.js'

const skip = mountUnavailable()
if (skip) t.plan(0, skip)

const random = (n: number, seed: string): Buffer => {
  const key = crypto.createHash('sha256').update(seed).digest()
  return crypto.createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n))
}
const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex')

/** SIGKILL the server and wait until the process is gone (its /dev/fuse closed). */
function kill(pid: number): void {
  process.kill(pid, 'SIGKILL')
  waitFor(() => {
    try {
      return /^\S+ \S+ Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/\(.*\)/, 'x'))
    } catch {
      return true
    }
  }, 10000)
}

interface Case {
  name: string
  /** Mount options besides commit=0. */
  opts?: string
  /** Write through the mount and make it durable the documented way; returns path → sha256 (or 'dir') expected after the kill. */
  act: (m: string, src: string) => Record<string, string>
}

const CASES: Case[] = [
  {
    name: "cp then razorfs sync (the issue's reproducer)",
    act: (m, src) => {
      const r = spawnSync('cp', [src, path.join(m, 'f')])
      if (r.status !== 0) throw new Error(`cp: ${r.stderr}`)
      const s = cli(['sync', m])
      if (s.status !== 0) throw new Error(`razorfs sync: ${s.stderr}`)
      return {f: sha(fs.readFileSync(src))}
    },
  },
  {
    name: 'a tree, renames and removals, then razorfs sync',
    act: (m) => {
      fs.mkdirSync(path.join(m, 'd/e'), {recursive: true})
      const out: Record<string, string> = {d: 'dir', 'd/e': 'dir'}
      for (let i = 0; i < 20; i++) {
        const data = random(1000 + i * 5000, `tree${i}`)
        fs.writeFileSync(path.join(m, `d/e/f${i}`), data)
        out[`d/e/f${i}`] = sha(data)
      }
      fs.renameSync(path.join(m, 'd/e/f0'), path.join(m, 'd/g'))
      out['d/g'] = out['d/e/f0']!
      delete out['d/e/f0']
      fs.unlinkSync(path.join(m, 'd/e/f1'))
      delete out['d/e/f1']
      out['d/e/f1'] = 'absent'
      const s = cli(['sync', m, '--json'])
      if (s.status !== 0) throw new Error(`razorfs sync: ${s.stderr}`)
      return out
    },
  },
  {
    name: 'fsync of the file',
    act: (m) => {
      const data = random(700000, 'fsync')
      const fd = fs.openSync(path.join(m, 'f'), 'w')
      fs.writeSync(fd, data)
      fs.fsyncSync(fd)
      return {f: sha(data)}
    },
  },
  {
    name: 'fdatasync of the file',
    act: (m) => {
      const data = random(300001, 'fdatasync')
      const fd = fs.openSync(path.join(m, 'f'), 'w')
      fs.writeSync(fd, data)
      fs.fdatasyncSync(fd)
      return {f: sha(data)}
    },
  },
  {
    name: 'fsync of the directory after the file is closed',
    act: (m) => {
      fs.mkdirSync(path.join(m, 'd'))
      const data = random(200000, 'dirsync')
      fs.writeFileSync(path.join(m, 'd/f'), data)
      fs.renameSync(path.join(m, 'd/f'), path.join(m, 'd/g'))
      const fd = fs.openSync(path.join(m, 'd'), 'r')
      fs.fsyncSync(fd)
      fs.closeSync(fd)
      return {d: 'dir', 'd/g': sha(data), 'd/f': 'absent'}
    },
  },
  {
    name: 'close(2) under -o sync_on_close',
    opts: 'sync_on_close',
    act: (m) => {
      const data = random(500000, 'close')
      fs.writeFileSync(path.join(m, 'f'), data)
      fs.mkdirSync(path.join(m, 'd'))
      fs.writeFileSync(path.join(m, 'd/g'), 'small')
      return {f: sha(data), d: 'dir', 'd/g': sha(Buffer.from('small'))}
    },
  },
]

for (const c of CASES) {
  t.test(`${c.name}, then SIGKILL: the remount has it`, async (t) => {
    const dir = tmpDir(t, 'sync')
    const image = path.join(dir, 's.img')
    t.equal(cli(['mkfs', image, '--size', '64M', '-q']).status, 0)
    const src = path.join(dir, 'src')
    fs.writeFileSync(src, random(3 << 20, 'src'))
    const m = path.join(dir, 'mnt')
    const {pid} = mount(t, image, m, [c.opts ? `commit=0,${c.opts}` : 'commit=0'])
    if (!pid) return
    const want = c.act(m, src)
    kill(pid)
    const u = umount(m)
    t.equal(u.status, 0, `razorfs umount cleans up the dead mount: ${u.stderr.trim()}`)
    const again = cli(['mount', image, m])
    t.equal(again.status, 0, 'remount')
    t.match(again.stderr, /not closed cleanly: replayed/, 'the remount recovered from the journal')
    for (const [rel, h] of Object.entries(want)) {
      const p = path.join(m, rel)
      if (h === 'absent') t.notOk(fs.existsSync(p), `${rel} is gone`)
      else if (h === 'dir') t.ok(fs.statSync(p, {throwIfNoEntry: false})?.isDirectory(), `${rel} is a directory`)
      else t.equal(fs.existsSync(p) ? sha(fs.readFileSync(p)) : 'missing', h, `${rel} is intact`)
    }
    t.equal(umount(m).status, 0)
    const fsck = cli(['fsck', '-f', '-n', image])
    t.equal(fsck.status, 0, `the image checks clean: ${fsck.stdout.trim().split('\n').pop()}`)
  })
}

t.test('razorfs sync: errors, --json, read-only mounts, several mountpoints', async (t) => {
  const dir = tmpDir(t, 'sync-errors')
  const image = path.join(dir, 'e.img')
  const image2 = path.join(dir, 'e2.img')
  t.equal(cli(['mkfs', image, '--size', '16M', '-q']).status, 0)
  t.equal(cli(['mkfs', image2, '--size', '16M', '-q']).status, 0)
  const plain = path.join(dir, 'plain')
  fs.mkdirSync(plain)
  const r = cli(['sync', plain])
  t.equal(r.status, 1)
  t.equal(
    r.stderr,
    `razorfs: ${plain}: no RAZORFS image is mounted there; mount one with 'razorfs mount IMAGE ${plain}'\n`,
  )
  const j = cli(['sync', plain, '--json'])
  t.equal(j.status, 1)
  t.equal(jsonError(j.stdout).code, 'EINVAL')
  t.equal(cli(['sync']).status, 2, 'no mountpoint: usage error')

  const m = path.join(dir, 'm')
  const m2 = path.join(dir, 'm2')
  const {pid} = mount(t, image, m)
  mount(t, image2, m2, ['ro'])
  const ok = cli(['sync', m, m2, '--json'])
  t.equal(ok.status, 0, ok.stderr)
  const res = jsonResult(ok.stdout) as {synced: Array<{mountpoint: string; image: string; pid: number}>}
  t.same(
    res.synced.map((s) => [s.mountpoint, s.image]),
    [
      [m, image],
      [m2, image2],
    ],
  )
  t.equal(res.synced[0]!.pid, pid)
  t.match(cli(['sync', m]).stdout, `Synced ${m}: everything written before is committed to ${image}.`)

  // dead: the server is gone
  kill(pid)
  const dead = cli(['sync', m])
  t.equal(dead.status, 1)
  t.match(
    dead.stderr,
    new RegExp(
      `^razorfs: ${m}: the mount is dead \\(the process that served ${image} is gone\\); detach it with 'razorfs umount ${m}'`,
    ),
  )
  t.equal(jsonError(cli(['sync', m, '--json']).stdout).code, 'ENOTCONN')
  // razorfs mount on the dead mount's mountpoint cleans it up and says so
  const again = cli(['mount', image, m])
  t.equal(again.status, 0, again.stderr)
  t.match(again.stderr, `${m}: the process that served ${image} there is gone`)
  t.equal(umount(m).status, 0)
  forceUnmount(m2)
})
