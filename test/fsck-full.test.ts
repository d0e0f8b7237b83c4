// Repair on a 100% full image, all or nothing (issue 10, item 5). mkfs
// --size auto leaves no block free; repair must still succeed there (the
// rebuilt tree reuses the old tree's blocks), and every repair that fails
// once it has begun writing — here a write made to fail at every point from
// the first to the superblock switch, and through the binary an undo log that
// cannot be written — must leave the image file byte for byte as it was.
import t from 'tap'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {spawnSync} from 'node:child_process'
import {corrupt, fsck, Image, isRazorError} from '../src/core/index.js'
import {SimulatedCrash} from '../src/core/check/fsck.js'
import {cli, cliUnavailable, PROJECT, tmpDir} from './helpers/image.js'

const TREE = path.join(PROJECT, 'fixtures/fsck/tree')
const FSCK = path.join(PROJECT, 'bin/razorfsck.js')
const sha = (p: string) => crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')

const skip = cliUnavailable()

function fullImage(dir: string): string {
  const p = path.join(dir, 'full.img')
  const r = cli([
    'mkfs',
    p,
    '--block-size',
    '1024',
    '--cluster-size',
    '4K',
    '--journal-size',
    '64K',
    '--root',
    TREE,
    '--quiet',
    '--force',
  ])
  if (r.status !== 0) throw new Error(`mkfs failed: ${r.stderr}`)
  return p
}

function freeBlocks(p: string): number {
  const img = Image.open(p)
  try {
    return img.volume.alloc.freeBlocks
  } finally {
    img.close()
  }
}

t.test('every failure after the first write rolls back to the same bytes', {skip}, async (t) => {
  const dir = tmpDir(t, 'fullfail')
  const base = fullImage(dir)
  t.equal(freeBlocks(base), 0, 'mkfs --size auto leaves no block free')
  // a destroyed superblock (the primary is rewritten first), a truncated file (the file is extended first),
  // a tree rebuild with reconnection, a block-level rebuild, a copy of shared blocks
  for (const kind of ['zero-superblock', 'truncate', 'unreachable-dir', 'zero-leaf', 'doubly-claimed']) {
    const img = path.join(dir, `${kind}.img`)
    fs.copyFileSync(base, img)
    corrupt(img, kind, {seed: 1})
    const before = sha(img)
    const size = fs.statSync(img).size
    // fail write n for growing n (and then, by bisection, the very last write) until the repair gets through
    let n = 1
    let lastFailed = 0
    let failures = 0
    let report: ReturnType<typeof fsck> | undefined
    const attempt = (at: number): boolean => {
      try {
        report = fsck(img, {mode: 'repair', force: true, failWrite: at})
        return true
      } catch (e) {
        t.ok(isRazorError(e) && e.code === 'ENOSPC', `${kind}: write ${at} fails with ENOSPC`)
        t.match(
          (e as Error).message,
          /rolled back: the image is as it was/,
          `${kind}: write ${at}: the error says the repair was rolled back`,
        )
        t.equal(fs.statSync(img).size, size, `${kind}: write ${at}: size as before`)
        t.equal(sha(img), before, `${kind}: write ${at}: bytes as before`)
        t.notOk(fs.existsSync(`${img}.lock`), `${kind}: write ${at}: lock released`)
        failures++
        return false
      }
    }
    const copy = `${img}.orig`
    fs.copyFileSync(img, copy)
    for (;;) {
      if (!attempt(n)) {
        lastFailed = n
        n = Math.ceil(n * 1.5)
        continue
      }
      // n got through: bisect (lastFailed, n] for the first write count that gets through
      let lo = lastFailed
      let hi = n
      while (hi - lo > 1) {
        fs.copyFileSync(copy, img)
        const mid = (lo + hi) >> 1
        if (attempt(mid)) hi = mid
        else lo = mid
      }
      fs.copyFileSync(copy, img)
      t.ok(attempt(hi), `${kind}: the repair takes ${hi - 1} writes`)
      break
    }
    t.ok(failures >= 3, `${kind}: ${failures} failing write points tried`)
    t.equal(report!.exit & 3, 1, `${kind}: with no failure the repair succeeds`)
    t.equal(
      fsck(img, {mode: 'check', force: true, checkData: kind === 'doubly-claimed'}).exit & ~4,
      0,
      `${kind}: and checks clean`,
    )
  }
})

t.test('through the binary: the reproducer of the issue, and exit 8 changes nothing', {skip}, async (t) => {
  const dir = tmpDir(t, 'fullbin')
  const base = fullImage(dir)
  const run = (args: string[]) =>
    spawnSync(process.execPath, [FSCK, ...args], {
      encoding: 'utf8',
      env: {...process.env, NO_COLOR: '1', CI: 'true'},
      timeout: 120_000,
    })
  // a zeroed primary superblock on a full image: exit 8 "no space left" after rewriting the superblock, before the fix
  const img = path.join(dir, 'sb.img')
  fs.copyFileSync(base, img)
  corrupt(img, 'zero-superblock')
  let r = run(['-fy', img])
  t.equal(r.status, 1, `repaired: ${r.stdout}${r.stderr}`)
  t.match(r.stdout, /SB_PRIMARY_BAD/)
  r = run(['-fy', img])
  t.equal(r.status, 0, 'clean the second time')
  // an operational failure: the undo log cannot be written
  const img2 = path.join(dir, 'undo.img')
  fs.copyFileSync(base, img2)
  corrupt(img2, 'unreachable-file')
  const before = sha(img2)
  r = run(['-fy', '--undo', path.join(dir, 'no-such-dir', 'x.undo'), img2])
  t.equal(r.status, 8)
  t.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`)
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
  t.equal(sha(img2), before, 'the image is as it was')
  t.notOk(fs.existsSync(`${img2}.lock`), 'no lock left')
})

// A repair killed once it has begun writing (on a full image it rebuilds the tree over the old
// tree's blocks, so the image in between is neither the old one nor the new one): the next
// razorfsck -n reports REPAIR_INTERRUPTED, the next repair rolls the interrupted one back from its
// undo log first and then repairs, ending exactly where an uninterrupted repair ends.
t.test('a repair killed at every write: the next fsck rolls it back and repairs', {skip}, async (t) => {
  const dir = tmpDir(t, 'fullkill')
  const base = fullImage(dir)
  // every name, inode, type, mode, owner, link count, size, content and xattr (not times: a repair stamps
  // the directories it changes, lost+found among them, with its own clock)
  const tree = (p: string) => {
    const img = Image.open(p, {readOnly: true})
    const lines: string[] = []
    const walk = (dir: number, at: string) => {
      for (const e of img.readdir(dir).sort((a, b) => Buffer.compare(a.name, b.name))) {
        const q = `${at}/${e.name.toString('hex')}`
        const st = img.stat(e.ino)
        const body =
          st.type === 'file' || st.type === 'symlink'
            ? crypto.createHash('sha256').update(img.readFile(e.ino)).digest('hex')
            : ''
        const xattrs = img.listXattrs(e.ino).map((x) => `${x}=${img.getXattr(e.ino, x).toString('hex')}`)
        lines.push(
          `${q} ino=${e.ino} ${st.type} ${st.mode} ${st.uid}:${st.gid} n=${st.nlink} ${st.size} ${body} ${xattrs.join(',')}`,
        )
        if (st.type === 'dir') walk(e.ino, q)
      }
    }
    try {
      walk(1, '')
      return lines.join('\n')
    } finally {
      img.close()
    }
  }
  for (const kind of ['zero-leaf', 'unreachable-dir', 'zero-superblock']) {
    const damaged = path.join(dir, `${kind}.damaged`)
    fs.copyFileSync(base, damaged)
    corrupt(damaged, kind, {seed: 1})
    const ref = path.join(dir, `${kind}.ref`)
    fs.copyFileSync(damaged, ref)
    t.equal(fsck(ref, {mode: 'repair', force: true}).exit, 1, `${kind}: an uninterrupted repair`)
    const expected = tree(ref)
    const img = path.join(dir, `${kind}.img`)
    let crashes = 0
    let interrupted = 0
    for (let n = 1; ; n++) {
      fs.copyFileSync(damaged, img)
      fs.rmSync(`${img}.undo`, {force: true})
      try {
        fsck(img, {mode: 'repair', force: true, crashAtWrite: n})
        break // n is past the repair's last write
      } catch (e) {
        if (!(e instanceof SimulatedCrash)) throw e
      }
      crashes++
      const before = sha(img)
      const check = fsck(img, {mode: 'check', force: true})
      t.equal(sha(img), before, `${kind}: crash at write ${n}: -n writes nothing`)
      const named = check.problems.some((p) => p.id === 'REPAIR_INTERRUPTED')
      if (named) interrupted++
      if (named) t.not(check.exit & 4, 0, `${kind}: crash at write ${n}: -n exits 4`)
      const r = fsck(img, {mode: 'repair', force: true})
      t.equal(r.exit & ~1, 0, `${kind}: crash at write ${n}: the next repair succeeds (exit ${r.exit})`)
      t.equal(
        r.problems.some((p) => p.id === 'REPAIR_INTERRUPTED' && p.fixed),
        named,
        `${kind}: crash at write ${n}: the rollback is reported when -n named it`,
      )
      t.equal(fsck(img, {mode: 'check', force: true}).exit, 0, `${kind}: crash at write ${n}: clean after`)
      t.equal(
        tree(img),
        expected,
        `${kind}: crash at write ${n}: the same files, names and bytes as an uninterrupted repair`,
      )
    }
    t.ok(
      crashes >= 3 && interrupted >= 1,
      `${kind}: ${crashes} crash points, ${interrupted} of them rolled back from the undo log`,
    )
  }
})
