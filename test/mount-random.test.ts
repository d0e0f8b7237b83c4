// Random operations, the same on a mounted image and on a host directory:
// write, read, truncate, punch holes, extend, mmap write, rename, link,
// unlink (also of open files), mkdir, rmdir, chmod, fsync. Every operation's
// outcome (result or errno) must match, and the two trees are compared byte
// for byte along the way, after a remount, and the image checks clean.
// RAZORFS_TEST_SEED=... replays a run; the seed is printed.
import t from 'tap'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {spawnSync} from 'node:child_process'
import {Image} from '../src/core/index.js'
import {Rng, text} from './helpers/rng.js'
import {cli, tmpDir} from './helpers/image.js'
import {mmapWrite, mount, mountUnavailable, umount} from './helpers/mount.js'

const skip = mountUnavailable()
if (skip) t.plan(0, skip)

const OPS = Number(process.env.RAZORFS_TEST_RANDOM_OPS ?? 3000)
const SEED = process.env.RAZORFS_TEST_SEED ?? crypto.randomBytes(6).toString('hex')

type Outcome = string

function outcome(fn: () => unknown): Outcome {
  try {
    const v = fn()
    if (Buffer.isBuffer(v)) return `ok ${crypto.createHash('sha1').update(v).digest('hex')}`
    return v === undefined ? 'ok' : `ok ${JSON.stringify(v)}`
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e)
  }
}

/** A comparable description of a tree: type, mode, size, nlink, content hash, link target. */
function describe(root: string): Map<string, string> {
  const out = new Map<string, string>()
  const walk = (rel: string) => {
    const abs = path.join(root, rel)
    for (const name of fs.readdirSync(abs).sort()) {
      const r = path.join(rel, name)
      const st = fs.lstatSync(path.join(root, r))
      let what = `${(st.mode & 0o170000).toString(8)} ${(st.mode & 0o7777).toString(8)} nlink=${st.nlink}`
      if (st.isFile())
        what += ` size=${st.size} sha=${crypto
          .createHash('sha1')
          .update(fs.readFileSync(path.join(root, r)))
          .digest('hex')}`
      else if (st.isSymbolicLink()) what += ` -> ${fs.readlinkSync(path.join(root, r))}`
      out.set(r, what)
      if (st.isDirectory()) walk(r)
    }
  }
  walk('')
  return out
}

function differences(a: Map<string, string>, b: Map<string, string>): string[] {
  const diffs: string[] = []
  for (const [k, v] of a) if (b.get(k) !== v) diffs.push(`${k}: host ${v} / image ${b.get(k) ?? 'missing'}`)
  for (const k of b.keys()) if (!a.has(k)) diffs.push(`${k}: only in the image`)
  return diffs
}

t.test(`random operations against a host directory (seed ${SEED})`, async (t) => {
  t.comment(`seed ${SEED} (replay with RAZORFS_TEST_SEED=${SEED}), ${OPS} operations`)
  const rng = new Rng(`mount-random:${SEED}`)
  const dir = tmpDir(t, 'random')
  const image = path.join(dir, 'r.img')
  t.equal(cli(['mkfs', image, '--size', '512M', '-q']).status, 0)
  const host = path.join(dir, 'host')
  fs.mkdirSync(host)
  const mnt = path.join(dir, 'mnt')
  mount(t, image, mnt)
  const sides = [host, mnt]

  const dirs = ['', 'a', 'b', 'a/c']
  for (const d of dirs.slice(1)) for (const s of sides) fs.mkdirSync(path.join(s, d))
  const names = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'x', 'y', 'sub']
  const anyPath = () => path.join(rng.pick(dirs), rng.pick(names))
  const held: Array<{fds: number[]; rel: string}> = []
  const mismatches: string[] = []
  const counts: Record<string, number> = {}

  const content = (n: number): Buffer => {
    const k = rng.int(0, 9)
    if (k < 4) return rng.bytes(n)
    if (k < 8) return text(rng, n)
    return Buffer.alloc(n, k === 8 ? 0 : 0x41)
  }
  const size = (rel: string): number => {
    try {
      return fs.statSync(path.join(host, rel)).size
    } catch {
      return 0
    }
  }
  const both = (name: string, fn: (root: string, side: number) => unknown) => {
    counts[name] = (counts[name] ?? 0) + 1
    const got = sides.map((root, i) => outcome(() => fn(root, i)))
    if (got[0] !== got[1]) mismatches.push(`op ${name}: host ${got[0]} / image ${got[1]}`)
  }

  const ops: Array<[number, () => void]> = [
    [
      20,
      () => {
        const rel = anyPath()
        const off = rng.chance(0.3) ? size(rel) : rng.int(0, size(rel) + 200000)
        const data = content(rng.chance(0.7) ? rng.int(1, 20000) : rng.int(1, 400000))
        both('write', (root) => {
          const fd = fs.openSync(path.join(root, rel), fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o644)
          try {
            return fs.writeSync(fd, data, 0, data.length, off)
          } finally {
            fs.closeSync(fd)
          }
        })
      },
    ],
    [
      12,
      () => {
        const rel = anyPath()
        const off = rng.int(0, size(rel) + 100)
        const len = rng.int(1, 300000)
        both('read', (root) => {
          const fd = fs.openSync(path.join(root, rel), 'r')
          try {
            const b = Buffer.alloc(len)
            return b.subarray(0, fs.readSync(fd, b, 0, len, off))
          } finally {
            fs.closeSync(fd)
          }
        })
      },
    ],
    [
      7,
      () => {
        const rel = anyPath()
        const n = rng.chance(0.5) ? rng.int(0, size(rel)) : rng.int(0, 1 << 20)
        both('truncate', (root) => fs.truncateSync(path.join(root, rel), n))
      },
    ],
    [
      4,
      () => {
        const rel = anyPath()
        const s = size(rel)
        const off = rng.int(0, s)
        const len = rng.int(1, 300000)
        both('punch', (root) => {
          if (!fs.statSync(path.join(root, rel)).isFile())
            throw Object.assign(new Error('not a file'), {code: 'ENOTFILE'})
          const r = spawnSync('fallocate', ['-p', '-o', String(off), '-l', String(len), path.join(root, rel)], {
            encoding: 'utf8',
          })
          if (r.status !== 0) throw Object.assign(new Error(r.stderr), {code: 'EFALLOCATE'})
        })
      },
    ],
    [
      3,
      () => {
        const rel = anyPath()
        const s = size(rel)
        let isFile = false
        try {
          isFile = fs.lstatSync(path.join(host, rel)).isFile()
        } catch {
          // missing
        }
        if (!isFile || s === 0) return
        const off = rng.int(0, s - 1)
        const data = content(rng.int(1, Math.min(s - off, 100000)))
        both('mmap-write', (root, side) => {
          if (side === 0) {
            const fd = fs.openSync(path.join(root, rel), 'r+')
            fs.writeSync(fd, data, 0, data.length, off)
            fs.closeSync(fd)
          } else mmapWrite(path.join(root, rel), off, data)
        })
      },
    ],
    [
      5,
      () => {
        const from = anyPath()
        const to = rng.chance(0.2) ? rng.pick(dirs.slice(1)) : anyPath()
        both('rename', (root) => fs.renameSync(path.join(root, from), path.join(root, to)))
      },
    ],
    [
      4,
      () => {
        const from = anyPath()
        const to = anyPath()
        both('link', (root) => fs.linkSync(path.join(root, from), path.join(root, to)))
      },
    ],
    [
      6,
      () => {
        const rel = anyPath()
        both('unlink', (root) => fs.unlinkSync(path.join(root, rel)))
      },
    ],
    [
      3,
      () => {
        const rel = anyPath()
        both('mkdir', (root) => fs.mkdirSync(path.join(root, rel)))
      },
    ],
    [
      3,
      () => {
        const rel = rng.chance(0.5) ? anyPath() : rng.pick(dirs.slice(1))
        both('rmdir', (root) => fs.rmdirSync(path.join(root, rel)))
      },
    ],
    [
      2,
      () => {
        const rel = anyPath()
        const mode = rng.pick([0o644, 0o600, 0o755, 0o4755, 0o640])
        both('chmod', (root) => fs.chmodSync(path.join(root, rel), mode))
      },
    ],
    [
      2,
      () => {
        const rel = anyPath()
        const target = rng.pick(['f0', '../f1', 'a/c/x', 'nowhere'])
        both('symlink', (root) => fs.symlinkSync(target, path.join(root, rel)))
      },
    ],
    [
      3,
      () => {
        // hold a file open (often then unlinked or renamed over)
        if (held.length >= 4) return
        const rel = anyPath()
        const fds: number[] = []
        both('open', (root) => {
          fds.push(fs.openSync(path.join(root, rel), fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644))
        })
        if (fds.length === 2) held.push({fds, rel})
        else for (const fd of fds) fs.closeSync(fd)
      },
    ],
    [
      5,
      () => {
        if (!held.length) return
        const h = rng.pick(held)
        const off = rng.int(0, 300000)
        const data = content(rng.int(1, 50000))
        both('write-held', (_root, side) => fs.writeSync(h.fds[side]!, data, 0, data.length, off))
        const roff = rng.int(0, 300000)
        both('read-held', (_root, side) => {
          const b = Buffer.alloc(60000)
          return b.subarray(0, fs.readSync(h.fds[side]!, b, 0, b.length, roff))
        })
      },
    ],
    [
      2,
      () => {
        if (!held.length) return
        const h = held.splice(rng.int(0, held.length - 1), 1)[0]!
        both('fstat-held', (_root, side) => {
          const st = fs.fstatSync(h.fds[side]!)
          return [st.size, st.nlink]
        })
        both('close-held', (_root, side) => fs.closeSync(h.fds[side]!))
      },
    ],
    [
      1,
      () => {
        const rel = anyPath()
        both('fsync', (root) => {
          const fd = fs.openSync(path.join(root, rel), 'r')
          try {
            fs.fsyncSync(fd)
          } finally {
            fs.closeSync(fd)
          }
        })
      },
    ],
  ]
  const total = ops.reduce((s, [w]) => s + w, 0)
  let compared = 0
  for (let i = 0; i < OPS; i++) {
    let r = rng.int(0, total - 1)
    for (const [w, op] of ops) {
      if (r < w) {
        op()
        break
      }
      r -= w
    }
    if (i % 500 === 499) {
      const d = differences(describe(host), describe(mnt))
      compared++
      if (d.length) mismatches.push(`after op ${i + 1}: ${d.slice(0, 5).join('; ')}`)
    }
    if (mismatches.length > 10) break
  }
  for (const h of held) for (const fd of h.fds) fs.closeSync(fd)
  t.comment(`operations: ${JSON.stringify(counts)}`)
  t.same(mismatches.slice(0, 10), [], `every outcome matched, and ${compared} tree comparisons found no difference`)
  t.same(differences(describe(host), describe(mnt)), [], 'the trees match at the end')
  const usedBefore = spawnSync('stat', ['-f', '-c', '%b %f', mnt], {encoding: 'utf8'}).stdout
  t.equal(umount(mnt).status, 0, 'unmounted')
  const img = Image.open(image)
  t.same(img.check({checkData: true}).problems, [], 'the image checks clean (data checksums too)')
  t.equal(img.info().state, 'clean')
  img.close()
  mount(t, image, mnt)
  t.same(differences(describe(host), describe(mnt)), [], 'after a remount the trees still match byte for byte')
  t.equal(
    spawnSync('stat', ['-f', '-c', '%b %f', mnt], {encoding: 'utf8'}).stdout,
    usedBefore,
    'no space leaked by files unlinked while open',
  )
  t.equal(umount(mnt).status, 0)
})
