/**
 * Copying out of (and between) images made by an attacker. The fixtures are
 * built with the core API, then damaged on purpose through the internal
 * volume: directory entries named '..', '.', 'a/b', '../../x', with NUL; a
 * directory entry pointing back at the root (a cycle) and one directory
 * reachable twice; two entries of one name (a symlink to the outside and a
 * directory); a set-user-ID file; a device node; files declaring 1 TiB and
 * 1 PiB over no data; a zstd extent that would decompress to 32 MiB where
 * 4 KiB are declared; symlinks planted on the host before and during the
 * extraction. Each case checks that nothing is written outside DEST and
 * that the safe entries are still copied.
 */
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import {Image, extract, type CopyEvent, type CopyProblem} from '../src/core/index.js'
import {addEntry, direntKey} from '../src/core/fs/directory.js'
import {encodeDirents} from '../src/core/format/dirent.js'
import {encodeExtent, COMPRESSION_ZSTD, STORAGE_INLINE} from '../src/core/format/extent.js'
import {nameHash} from '../src/core/format/keys.js'
import {crc32} from '../src/core/format/checksum.js'
import {readInode, writeInode} from '../src/core/fs/inode-table.js'
import {extentKey} from '../src/core/fs/extents.js'
import {zstdCompress} from '../src/core/fs/compression.js'
import {cli, cliUnavailable, tmpDir} from './helpers/image.js'

const isRoot = process.getuid?.() === 0
const FILE = 1
const DIR = 2

/** Everything below a host directory, as relative paths. */
function listTree(root: string): string[] {
  const out: string[] = []
  const walk = (d: string, rel: string) => {
    for (const n of fs.readdirSync(d).sort()) {
      const p = path.join(d, n)
      out.push(rel + n)
      if (fs.lstatSync(p).isDirectory()) walk(p, `${rel}${n}/`)
    }
  }
  walk(root, '')
  return out
}

interface Hostile {
  path: string
  outside: string
}

/** An image with every hostile construction we can think of, and a host directory it tries to write into. */
function buildHostile(dir: string): Hostile {
  const outside = path.join(dir, 'outside')
  fs.mkdirSync(outside)
  const p = path.join(dir, 'hostile.img')
  const img = Image.create(p, {size: 64 << 20})
  const v = (img as unknown as {v: Parameters<typeof addEntry>[0]}).v
  const ok = img.create(1, 'ok.txt', {mode: 0o644})
  img.write(ok, 0, Buffer.from('fine\n'))
  // names no host file may have
  for (const bad of ['..', '.', 'a/b', '../../escape', '../outside/abs', 'nul\0byte'])
    addEntry(v, 1, Buffer.from(bad), ok, FILE)
  // a cycle: /loop/back is the root again; /dag/left and /dag/right are the same directory
  const loop = img.mkdir(1, 'loop', {})
  addEntry(v, loop, Buffer.from('back'), 1, DIR)
  const dag = img.mkdir(1, 'dag', {})
  const shared = img.mkdir(dag, 'left', {})
  img.create(shared, 'inside', {})
  addEntry(v, dag, Buffer.from('right'), shared, DIR)
  // two entries named 'evil': a symlink to the outside (the real one), then a directory with a payload
  img.symlink(1, 'evil', outside, {})
  const evilDir = img.mkdir(1, 'evil-dir', {})
  const payload = img.create(evilDir, 'payload', {})
  img.write(payload, 0, Buffer.from('should never leave DEST\n'))
  const fakeHash = nameHash(Buffer.from('evil')) + 1
  v.tree.put(direntKey(1, fakeHash), encodeDirents([{ino: evilDir, ftype: DIR, name: Buffer.from('evil')}]))
  // set-user-ID root file, device node
  const suid = img.create(1, 'suid', {mode: 0o4755, uid: 0, gid: 0})
  img.write(suid, 0, Buffer.from('#!/bin/sh\n'))
  img.create(1, 'disk', {mode: 0o060666, rdev: (8 << 8) | 0})
  // sizes the image cannot back
  for (const [name, size] of [
    ['huge-1t', 2 ** 40],
    ['huge-1p', 2 ** 50],
  ] as const) {
    const ino = img.create(1, name, {})
    const rec = readInode(v, ino)
    rec.size = size
    writeInode(v, ino, rec)
  }
  // a compression bomb: a 4 KiB extent whose zstd data expands to 32 MiB
  const bomb = img.create(1, 'bomb', {})
  const z = zstdCompress(Buffer.alloc(32 << 20), 19, 2048)!
  t.ok(z && z.length <= 2048, `bomb frame is ${z?.length} bytes`)
  v.tree.put(
    extentKey(bomb, 0),
    encodeExtent(
      {storage: STORAGE_INLINE, compression: COMPRESSION_ZSTD, crc: crc32(z), length: 4096, block: 0, stored: z.length},
      z,
    ),
  )
  const brec = readInode(v, bomb)
  brec.size = 4096
  writeInode(v, bomb, brec)
  // -L: an absolute symlink resolves inside the image, never on the host
  img.symlink(1, 'abs-link', '/ok.txt', {})
  img.close()
  return {path: p, outside}
}

function main(): void {
  t.test('cp -r out of a hostile image never writes outside DEST', async (t) => {
    const dir = tmpDir(t, 'hostile')
    const h = buildHostile(dir)
    const out = path.join(dir, 'out')
    const started = Date.now()
    const r = cli(['cp', '-r', `${h.path}:`, out], {timeoutMs: 60_000})
    const ms = Date.now() - started
    t.equal(r.status, 1, 'exit 1: some entries were refused')
    t.ok(ms < 30_000, `finishes promptly (${ms} ms) despite 1 PiB of declared size and a 32 MiB bomb`)
    const lines = r.stderr.trim().split('\n')
    for (const [what, re] of [
      ["'..'", /refusing the name '\.\.'/],
      ["'.'", /refusing the name '\.'/],
      ['a slash', /refusing a name containing '\/'/],
      ['NUL', /refusing a name containing NUL/],
      ['the cycle', /appears more than once/],
      ['the evil duplicate', /symbolic link on the host; not following it/],
      ['the bomb', /bomb.*(decompress|corrupt)/i],
      ['1 PiB', /huge-1p.*File too large/],
    ] as const)
      t.ok(
        lines.some((l) => re.test(l)),
        `${what} is reported${lines.some((l) => re.test(l)) ? '' : `; stderr:\n${r.stderr}`}`,
      )
    t.notMatch(r.stderr, /\n\s+at |TypeError|node:internal/, 'no stack trace')
    t.same(listTree(h.outside), [], 'nothing was written outside DEST')
    t.same(fs.readdirSync(dir).sort(), ['hostile.img', 'out', 'outside'], 'nothing appeared next to DEST')
    t.equal(fs.readFileSync(path.join(out, 'ok.txt'), 'utf8'), 'fine\n', 'the safe file is copied')
    t.equal(fs.readlinkSync(path.join(out, 'evil')), h.outside, 'the symlink itself is copied, as a link')
    t.ok(fs.existsSync(path.join(out, 'evil-dir/payload')), 'the directory under its own name is copied')
    t.ok(fs.existsSync(path.join(out, 'dag/left/inside')), 'a shared directory is copied once')
    t.notOk(fs.existsSync(path.join(out, 'dag/right/inside')), 'and not twice')
    t.equal(fs.statSync(path.join(out, 'suid')).mode & 0o7777, 0o755, 'set-user-ID dropped without -p')
    t.notOk(fs.existsSync(path.join(out, 'disk')), 'no device node without -p')
    const huge = fs.statSync(path.join(out, 'huge-1t'))
    t.equal(huge.size, 2 ** 40, 'a 1 TiB hole file keeps its size')
    t.equal(huge.blocks, 0, 'and costs nothing')
    t.notOk(fs.existsSync(path.join(out, 'huge-1p')), 'a size the host refuses leaves no partial file')
    t.notOk(fs.existsSync(path.join(out, 'bomb')), 'the bomb leaves no partial file')
    t.same(
      fs.readdirSync(out).filter((n) => n.startsWith('.razorfs')),
      [],
      'no temporary files left',
    )

    // -p as root keeps set-user-ID and makes device nodes
    const out2 = path.join(dir, 'out2')
    const r2 = cli(['cp', '-a', `${h.path}:`, out2], {timeoutMs: 60_000})
    t.equal(r2.status, 1)
    t.same(listTree(h.outside), [], 'nothing outside DEST with -a either')
    if (isRoot) {
      t.equal(fs.statSync(path.join(out2, 'suid')).mode & 0o7777, 0o4755, '-a as root keeps set-user-ID')
      t.ok(fs.lstatSync(path.join(out2, 'disk')).isBlockDevice(), '-a as root makes the device node')
    }
    fs.rmSync(out2, {recursive: true, force: true})

    // --limit caps what a copy may write
    const r3 = cli(['cp', '-r', '--limit', '3', `${h.path}:`, path.join(dir, 'out3')])
    t.equal(r3.status, 1, '--limit stops the copy')
    t.match(r3.stderr, /limit of 3 bytes/, 'and says so')
    fs.rmSync(path.join(dir, 'out3'), {recursive: true, force: true})

    // -L resolves inside the image
    const r4 = cli(['cp', '-L', `${h.path}:/abs-link`, path.join(dir, 'abs')])
    t.equal(r4.status, 0)
    t.equal(
      fs.readFileSync(path.join(dir, 'abs'), 'utf8'),
      'fine\n',
      'an absolute symlink is followed inside the image, not on the host',
    )
    fs.rmSync(path.join(dir, 'abs'))

    // cat: the bomb fails cleanly, a petabyte of holes is refused before writing anything
    const c1 = cli(['cat', `${h.path}:/bomb`])
    t.equal(c1.status, 3, 'cat of the bomb: the image is corrupt there (exit 3)')
    t.equal(c1.stdout, '', 'nothing written')
    const c2 = cli(['cat', `${h.path}:/huge-1p`], {timeoutMs: 30_000})
    t.equal(c2.status, 1, 'cat refuses 1 PiB of holes')
    t.match(c2.stderr, /holes the image does not store/, 'and says why')

    // image → image: the same refusals, and a consistent destination
    const img2 = path.join(dir, 'copy.img')
    t.equal(cli(['mkfs', img2, '--size', '64M', '-q']).status, 0)
    const r5 = cli(['cp', '-a', `${h.path}:`, `${img2}:/`], {timeoutMs: 60_000})
    t.equal(r5.status, 1)
    t.match(r5.stderr, /refusing the name '\.\.'/)
    const i2 = Image.open(img2)
    t.same(i2.check().problems, [], 'the destination image checks clean')
    t.equal(i2.stat(i2.resolve('/huge-1t')).size, 2 ** 40, 'holes copied as holes between images')
    t.same(
      i2
        .readdir(1)
        .map((e) => e.name.toString())
        .filter((n) => n.includes('/') || n === '..'),
      [],
      'no bad name got in',
    )
    i2.close()
  })

  t.test('symlinks planted on the host before and during extraction are never followed', async (t) => {
    const dir = tmpDir(t, 'planted')
    const outside = path.join(dir, 'outside')
    fs.mkdirSync(outside)
    fs.writeFileSync(path.join(outside, 'target'), 'original')
    const p = path.join(dir, 'p.img')
    const img = Image.create(p, {size: 32 << 20})
    for (const d of ['a', 'b', 'c']) {
      const di = img.mkdir(1, d, {})
      for (let i = 1; i <= 5; i++) img.write(img.create(di, `${d}${i}`, {}), 0, Buffer.from(`${d}${i}\n`))
    }
    img.write(img.create(1, 'target', {}), 0, Buffer.from('from the image'))
    img.close()
    const ro = Image.open(p)
    t.teardown(() => ro.close())

    const out = path.join(dir, 'out')
    fs.mkdirSync(out)
    // planted before: a directory name and a file name are symlinks to the outside
    fs.symlinkSync(outside, path.join(out, 'c'))
    fs.symlinkSync(path.join(outside, 'target'), path.join(out, 'target'))
    const errors: CopyProblem[] = []
    const events: CopyEvent[] = []
    let swapped = false
    for (const e of extract(
      ro,
      {ino: 1, path: Buffer.from('/'), label: Buffer.from('p.img:/')},
      {dir: out, name: Buffer.alloc(0), label: Buffer.from(out), into: true},
      {recursive: true, preserve: true, onError: (x) => errors.push(x)},
    )) {
      events.push(e)
      if (!swapped && e.kind === 'entry' && e.dst.toString().endsWith('a/a1')) {
        // during: the directory being filled is moved away and replaced by a symlink to the outside
        fs.renameSync(path.join(out, 'a'), path.join(out, 'a-moved'))
        fs.symlinkSync(outside, path.join(out, 'a'))
        // and 'b', not yet reached, is planted too
        fs.symlinkSync(outside, path.join(out, 'b'))
        swapped = true
      }
    }
    t.ok(swapped, 'the swap happened mid-copy')
    t.same(fs.readdirSync(outside), ['target'], 'nothing was created outside')
    t.equal(
      fs.readFileSync(path.join(outside, 'target'), 'utf8'),
      'original',
      'the outside file was not written through the planted link',
    )
    t.same(
      fs.readdirSync(path.join(out, 'a-moved')).sort(),
      ['a1', 'a2', 'a3', 'a4', 'a5'],
      "the rest of 'a' went into the directory that was opened, wherever it moved",
    )
    t.ok(
      errors.some((e) => /b.*symbolic link on the host/.test(`${e.path} ${e.message}`)),
      "the planted 'b' is refused",
    )
    t.ok(
      errors.some((e) => /c.*symbolic link on the host/.test(`${e.path} ${e.message}`)),
      "the planted 'c' is refused",
    )
    t.ok(
      errors.some((e) => e.code === 'EEXIST' && e.path.endsWith('target')),
      'the planted file link is not overwritten without -f',
    )

    // with -f (replace): the links themselves are replaced, still nothing outside changes
    fs.rmSync(path.join(out, 'a'))
    const errs2: CopyProblem[] = []
    for (const _ of extract(
      ro,
      {ino: 1, path: Buffer.from('/'), label: Buffer.from('p.img:/')},
      {dir: out, name: Buffer.alloc(0), label: Buffer.from(out), into: true},
      {recursive: true, clobber: 'replace', onError: (x) => errs2.push(x)},
    ))
      void _
    t.same(errs2, [], 'no errors with -f')
    t.equal(fs.readFileSync(path.join(outside, 'target'), 'utf8'), 'original', 'the outside file is still untouched')
    t.equal(fs.readFileSync(path.join(out, 'target'), 'utf8'), 'from the image', 'the link was replaced by the file')
    t.ok(fs.lstatSync(path.join(out, 'b')).isDirectory(), 'the planted directory link was replaced by a real directory')
    t.same(fs.readdirSync(outside), ['target'], 'and nothing was created outside')
  })
}

const why = cliUnavailable()
if (why) t.fail(`cannot run the CLI: ${why}`)
else main()
