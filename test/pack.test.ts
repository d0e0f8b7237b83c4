// Tail packing (FORMAT.md §10, "Packs"): mkfs gathers file tails and small
// files into shared compressed packs, identical tails stored once. Real
// trees through buildImage (the mkfs pipeline, with and without workers) and
// through the binary: contents, holes and the image's consistency; every
// mutation of a packed file unpacks it (refs, freed packs, fsck clean);
// crafted packs and packed extents are errors, never hangs or huge buffers;
// fsck reports and repairs pack damage.
import t from 'tap'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import * as core from '../src/core/index.js'
import {Image, buildImage, AttrPolicy, isRazorError} from '../src/core/index.js'
import {packKey, packRecord} from '../src/core/format/pack.js'
import {encodeExtent, extentRecord, STORAGE_PACKED} from '../src/core/format/extent.js'
import {compare, describeHost, describeImage} from './helpers/compare.js'
import {cli, cliUnavailable, tmpDir} from './helpers/image.js'
import {jsonResult} from './helpers/envelope.js'

const KiB = 1024
const BS = 4096
const CS = 128 * KiB

function rnd(seed: string, n: number): Buffer {
  const out = Buffer.alloc(n)
  let h = crypto.createHash('sha256').update(seed).digest()
  for (let i = 0; i < n; i += 32) {
    h.copy(out, i, 0, Math.min(32, n - i))
    h = crypto.createHash('sha256').update(h).digest()
  }
  return out
}
/** Compressible text-like bytes. */
const text = (seed: string, n: number) =>
  Buffer.from(
    Array.from({length: Math.ceil(n / 16)}, (_, i) => `${seed}:${i % 97};`.padEnd(16, '.'))
      .join('')
      .slice(0, n),
  )

/** A tree of small files, duplicates, sizes around block and cluster boundaries and sparse files with tails. */
function makeTree(root: string): void {
  const w = (rel: string, data: Buffer) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), {recursive: true})
    fs.writeFileSync(path.join(root, rel), data)
  }
  for (let i = 0; i < 300; i++) w(`small/f${i}.txt`, text(`small${i}`, 1 + ((i * 37) % 3000)))
  for (let i = 0; i < 20; i++) w(`dup/a${i}`, text('same', 700))
  for (let i = 0; i < 5; i++) w(`dup/b${i}`, rnd('same-random', 5000))
  for (const n of [1, BS - 1, BS, BS + 1, 3 * BS + 7, CS - 1, CS, CS + 1, 2 * CS + 5, 3 * CS - BS]) {
    w(`sizes/t${n}`, text(`t${n}`, n))
    w(`sizes/r${n}`, rnd(`r${n}`, n))
  }
  w('zero/all', Buffer.alloc(3000))
  w('zero/tail-has-zero-block', Buffer.concat([text('z', CS), Buffer.alloc(BS), text('y', 100)]))
  w('zero/tail-zero', Buffer.concat([text('z2', CS), Buffer.alloc(2000)]))
  // sparse: a hole, then a tail
  const fd = fs.openSync(path.join(root, 'sparse'), 'w')
  fs.writeSync(fd, text('sp', 5000), 0, 5000, 3 * CS)
  fs.writeSync(fd, text('sp0', 100), 0, 100, 0)
  fs.closeSync(fd)
  // a hole inside the tail's cluster: not packed, the hole stays
  const fd2 = fs.openSync(path.join(root, 'sparse2'), 'w')
  fs.writeSync(fd2, text('sq', 5000), 0, 5000, CS + 2 * BS)
  fs.closeSync(fd2)
  fs.symlinkSync('small/f1.txt', path.join(root, 'link'))
  fs.linkSync(path.join(root, 'dup/a0'), path.join(root, 'hard'))
}

async function build(
  imgPath: string,
  root: string,
  opts: {workers: number; pack?: boolean; blockSize?: number},
): Promise<void> {
  const img = Image.create(imgPath, {
    size: 64 << 20,
    blockSize: opts.blockSize ?? BS,
    bulk: true,
    clock: () => ({sec: 1_700_000_000, nsec: 0}),
    uuid: '0f5c0000-0000-4000-8000-0000000000aa',
  })
  try {
    await buildImage(img, {
      root,
      workers: opts.workers,
      pack: opts.pack,
      policy: new AttrPolicy(),
      now: () => ({sec: 1_700_000_000, nsec: 0}),
    })
  } finally {
    img.close()
  }
}

interface PackView {
  block: number
  refs: number
  length: number
}
function packsOf(img: Image): PackView[] {
  const out: PackView[] = []
  for (const [k, raw] of img.volume.tree.range(
    {objectid: 0, type: 0, offset: 0},
    {objectid: Number.MAX_SAFE_INTEGER, type: 255, offset: 0},
  )) {
    if (k.type !== 6) continue
    const r = packRecord.decode(raw)
    out.push({block: k.objectid, refs: r.refs, length: r.length})
  }
  return out
}

function packedOf(img: Image, p: string) {
  return img.extents(img.resolve(p)).filter((e) => e.kind === 'packed')
}

t.test('round trip through buildImage: contents, holes, sharing, consistency', async (t) => {
  const dir = tmpDir(t, 'pack')
  const root = path.join(dir, 'tree')
  makeTree(root)
  const a = path.join(dir, 'a.img')
  const b = path.join(dir, 'b.img')
  const c = path.join(dir, 'c.img')
  await build(c, root, {workers: 2, pack: false}) // first: reading the tree may change atimes (relatime)
  await build(a, root, {workers: 0})
  await build(b, root, {workers: 2})
  // (the superblocks hold the build's wall-clock close time; mkfs-reproducible.test.ts covers whole images)
  t.ok(
    fs.readFileSync(a).subarray(BS, -BS).equals(fs.readFileSync(b).subarray(BS, -BS)),
    'the same bytes with 0 and 2 workers',
  )
  const img = Image.open(a)
  t.teardown(() => img.close())
  t.same(compare(describeHost(root), describeImage(img)), [], 'the image holds the tree (content, holes, sizes)')
  t.same(img.check({checkData: true}).problems, [], 'check --check-data clean')
  t.ok(img.info().features.incompat.includes('packed'), 'feature packed set')
  const packs = packsOf(img)
  t.ok(packs.length >= 2, `${packs.length} packs`)
  for (const p of packs) t.ok(p.length <= CS, 'pack within a cluster')
  // every small file packed, the duplicates share one slice
  t.equal(packedOf(img, 'small/f7.txt').length, 1, 'a small file is a packed extent')
  const st = img.stat(img.resolve('small/f7.txt'))
  t.equal(
    st.allocated,
    Math.ceil(st.size / 512) * 512,
    'stat counts a packed slice as allocated (never 0 blocks for data)',
  )
  const dups = Array.from({length: 20}, (_, i) => packedOf(img, `dup/a${i}`)[0]!)
  t.ok(
    dups.every((e) => e.block === dups[0]!.block && e.stored === dups[0]!.stored),
    'identical small files share one slice',
  )
  const rdups = Array.from({length: 5}, (_, i) => packedOf(img, `dup/b${i}`)[0]!)
  t.ok(
    rdups.every((e) => e.block === rdups[0]!.block && e.stored === rdups[0]!.stored),
    'identical incompressible files share one slice',
  )
  t.equal(packedOf(img, `sizes/t${CS}`).length, 0, 'no tail for a whole cluster')
  t.equal(packedOf(img, `sizes/t${CS + 1}`).length, 1, 'one byte past a cluster is a packed tail')
  t.equal(packedOf(img, 'sparse').length, 1, 'a sparse file has a packed tail')
  t.equal(packedOf(img, 'sparse2').length, 0, 'a tail after a hole in its cluster is not packed')
  t.equal(packedOf(img, 'zero/all').length, 0, 'an all-zero file stays a hole')
  t.equal(packedOf(img, 'zero/tail-has-zero-block').length, 0, 'a tail with a zero block is not packed')
  t.equal(img.extents(img.resolve('zero/tail-zero')).length, 1, 'an all-zero tail stays a hole')
  // refs = the packed extents naming each pack
  const named = new Map<number, number>()
  const walk = (dirIno: number) => {
    for (const e of img.readdir(dirIno)) {
      if (e.type === 'dir') walk(e.ino)
      else if (e.type === 'file')
        for (const x of img.extents(e.ino)) if (x.kind === 'packed') named.set(x.block, (named.get(x.block) ?? 0) + 1)
    }
  }
  walk(1)
  // 'hard' is a second name of dup/a0: count inodes once
  named.set(dups[0]!.block, named.get(dups[0]!.block)! - 1)
  for (const p of packs) t.equal(p.refs, named.get(p.block), `pack ${p.block}: refs ${p.refs}`)
  const sa = img.stats()
  const cimg = Image.open(c)
  const sc = cimg.stats()
  t.same(compare(describeHost(root), describeImage(cimg)), [], '--no-pack image holds the tree too')
  t.equal(packsOf(cimg).length, 0, 'no packs with pack: false')
  t.notOk(cimg.info().features.incompat.includes('packed'), 'no packed feature with pack: false')
  cimg.close()
  t.ok(sa.usedBlocks < sc.usedBlocks, `packed image smaller: ${sa.usedBlocks} < ${sc.usedBlocks} blocks`)
})

t.test('through the binary: mkfs, cp -a out, diff, --no-pack', {skip: cliUnavailable()}, async (t) => {
  const dir = tmpDir(t, 'packcli')
  const root = path.join(dir, 'tree')
  makeTree(root)
  const img = path.join(dir, 'p.img')
  let r = cli(['mkfs', img, '--root', root, '--size', 'auto', '-q'])
  t.equal(r.status, 0, r.stderr)
  r = cli(['diff', img, root])
  t.equal(r.status, 0, `diff: ${r.stdout}${r.stderr}`)
  const out = path.join(dir, 'out')
  r = cli(['cp', '-a', `${img}:/`, out])
  t.equal(r.status, 0, r.stderr)
  t.same(compare(describeHost(root), describeHost(out), {holes: false}), [], 'copied out identical')
  r = cli(['fsck', '-f', '--check-data', img])
  t.equal(r.status, 0, r.stdout + r.stderr)
  const np = path.join(dir, 'np.img')
  r = cli(['mkfs', np, '--root', root, '--size', 'auto', '-q', '--no-pack'])
  t.equal(r.status, 0, r.stderr)
  r = cli(['dump', np, '--json'])
  t.notOk(jsonResult(r.stdout).features.incompat.includes('packed'), '--no-pack: no packed feature')
  t.ok(
    fs.statSync(img).size < fs.statSync(np).size,
    `packed ${fs.statSync(img).size} < unpacked ${fs.statSync(np).size} bytes`,
  )
})

t.test('mutations unpack: overwrite, append, truncate, punch, unlink of sharers', async (t) => {
  const dir = tmpDir(t, 'packmut')
  const root = path.join(dir, 'tree')
  fs.mkdirSync(root)
  const body = text('m', 3000)
  for (const n of ['a', 'b', 'c']) fs.writeFileSync(path.join(root, n), body) // one shared slice
  fs.writeFileSync(path.join(root, 'big'), text('big', CS + 5000))
  fs.writeFileSync(path.join(root, 'other'), text('other', 900))
  fs.writeFileSync(path.join(root, 'grow'), text('grow', 1500))
  fs.writeFileSync(path.join(root, 'grow2'), text('grow2', 1700))
  fs.writeFileSync(path.join(root, 'punch'), text('punch', 9000))
  const p = path.join(dir, 'm.img')
  await build(p, root, {workers: 0})
  const freeAtStart = (() => {
    const i = Image.open(p)
    const f = i.info().freeBlocks
    i.close()
    return f
  })()
  const img = Image.open(p, {readOnly: false})
  const expect = new Map<string, Buffer>([
    ['a', Buffer.from(body)],
    ['b', Buffer.from(body)],
    ['c', Buffer.from(body)],
    ['big', text('big', CS + 5000)],
    ['other', text('other', 900)],
    ['grow', text('grow', 1500)],
    ['grow2', text('grow2', 1700)],
    ['punch', text('punch', 9000)],
  ])
  const verify = (what: string) => {
    t.same(
      img.check({checkData: true}).problems.map((x) => x.message),
      [],
      `${what}: check clean`,
    )
    for (const [n, data] of expect) t.ok(img.readFile(img.resolve(n)).equals(data), `${what}: ${n} reads right`)
  }
  const shared = packedOf(img, 'a')[0]!
  const refsOf = (block: number) => packsOf(img).find((x) => x.block === block)?.refs
  const sharedRefs = refsOf(shared.block)!
  t.ok(
    packedOf(img, 'b')[0]!.stored === shared.stored && packedOf(img, 'c')[0]!.stored === shared.stored,
    'a, b, c share one slice',
  )
  verify('built')
  // overwrite a byte of a packed tail
  img.write(img.resolve('a'), 10, Buffer.from('X'))
  expect.get('a')![10] = 0x58
  t.equal(packedOf(img, 'a').length, 0, 'a is unpacked')
  t.equal(refsOf(shared.block), sharedRefs - 1, 'refs dropped by one')
  verify('after overwrite')
  // append to b
  img.write(img.resolve('b'), 3000, Buffer.from('tail!'))
  expect.set('b', Buffer.concat([text('m', 3000), Buffer.from('tail!')]))
  t.equal(refsOf(shared.block), sharedRefs - 2, 'append unpacks')
  verify('after append')
  // a write far past the end of a packed tail unpacks it (a packed extent stays last)
  img.write(img.resolve('grow'), 3 * CS, Buffer.from('far'))
  const g = Buffer.alloc(3 * CS + 3)
  text('grow', 1500).copy(g)
  Buffer.from('far').copy(g, 3 * CS)
  expect.set('grow', g)
  t.equal(packedOf(img, 'grow').length, 0, 'grow unpacked')
  verify('after a write past the tail')
  // truncate the big file into its first cluster: the packed tail goes
  const bigPack = packedOf(img, 'big')[0]!
  t.ok(bigPack, 'big has a packed tail')
  img.truncate(img.resolve('big'), 1000)
  expect.set('big', text('big', CS + 5000).subarray(0, 1000))
  t.equal(packedOf(img, 'big').length, 0, 'truncate drops the packed tail')
  verify('after truncate')
  // truncate a packed file shorter, then longer
  img.truncate(img.resolve('other'), 400)
  img.truncate(img.resolve('other'), 5000)
  expect.set('other', Buffer.concat([text('other', 900).subarray(0, 400), Buffer.alloc(4600)]))
  verify('after truncate down and up')
  // growing a packed file past its tail's cluster unpacks it: a later write between stays consistent
  t.equal(packedOf(img, 'grow2').length, 1, 'grow2 packed')
  img.truncate(img.resolve('grow2'), 3 * CS + 10)
  t.equal(packedOf(img, 'grow2').length, 0, 'truncate past the cluster unpacks')
  img.write(img.resolve('grow2'), CS, Buffer.from('mid'))
  const g2 = Buffer.alloc(3 * CS + 10)
  text('grow2', 1700).copy(g2)
  Buffer.from('mid').copy(g2, CS)
  expect.set('grow2', g2)
  verify('after truncate up and a write between')
  img.punchHole(img.resolve('punch'), 100, 50)
  const pu = text('punch', 9000)
  pu.fill(0, 100, 150)
  expect.set('punch', pu)
  verify('after punch')
  // unlink the sharers: c then the others
  img.unlink(1, 'c')
  expect.delete('c')
  t.ok(packedOf(img, 'big').length === 0, 'big was unpacked before')
  verify('after unlink c')
  for (const n of ['a', 'b', 'big', 'other', 'grow', 'grow2', 'punch']) {
    img.unlink(1, n)
    expect.delete(n)
  }
  t.same(packsOf(img), [], 'every pack freed')
  verify('after unlinking everything')
  img.close()
  const again = Image.open(p)
  t.same(again.check().problems, [], 'clean after close')
  t.ok(again.info().freeBlocks > freeAtStart, 'the packs and data freed')
  again.close()
})

t.test('hostile packs and packed extents are errors, not hangs or huge buffers', async (t) => {
  const dir = tmpDir(t, 'packbad')
  const root = path.join(dir, 'tree')
  fs.mkdirSync(root)
  fs.writeFileSync(path.join(root, 'x'), text('x', 2000))
  fs.writeFileSync(path.join(root, 'y'), text('y', 3000))
  const base = path.join(dir, 'base.img')
  await build(base, root, {workers: 0})
  const variant = (
    name: string,
    edit: (
      img: Image,
      ext: {key: {objectid: number; type: number; offset: number}; rec: ReturnType<typeof extentRecord.decode>},
      pack: number,
    ) => void,
  ) => {
    const p = path.join(dir, `${name}.img`)
    fs.copyFileSync(base, p)
    const img = Image.open(p, {readOnly: false})
    const ino = img.resolve('x')
    const key = {objectid: ino, type: 3, offset: 0}
    const rec = extentRecord.decode(img.volume.tree.get(key)!)
    edit(img, {key, rec}, rec.block)
    img.close()
    return p
  }
  const cases: Array<[string, Parameters<typeof variant>[1], RegExp]> = [
    ['slice-past-pack', (img, e) => img.volume.tree.put(e.key, encodeExtent({...e.rec, stored: 4900})), /outside pack/],
    [
      'slice-past-cluster',
      (img, e) => img.volume.tree.put(e.key, encodeExtent({...e.rec, stored: CS})),
      /past the largest pack/,
    ],
    [
      'missing-pack',
      (img, e) => img.volume.tree.put(e.key, encodeExtent({...e.rec, block: e.rec.block + 7})),
      /does not exist/,
    ],
    [
      'huge-pack',
      (img, _e, b) => {
        const r = packRecord.decode(img.volume.tree.get(packKey(b))!)
        img.volume.tree.put(packKey(b), packRecord.encode({...r, length: 0xffffffff}))
      },
      /length \d+ out of range/,
    ],
    [
      'pack-outside',
      (img, _e, b) => {
        const r = packRecord.decode(img.volume.tree.get(packKey(b))!)
        img.volume.tree.put(packKey(b), packRecord.encode({...r, stored: 0xfffffff0, compression: 1, length: CS}))
      },
      /outside the data area|compressed length/,
    ],
    [
      'zstd-bomb-length',
      (img, _e, b) => {
        const r = packRecord.decode(img.volume.tree.get(packKey(b))!)
        // claims fewer raw bytes than the stream holds: decompression must stop at length
        img.volume.tree.put(packKey(b), packRecord.encode({...r, length: r.stored + 1}))
      },
      /.+/,
    ],
  ]
  for (const [name, edit, want] of cases) {
    const p = variant(name, edit)
    const img = Image.open(p)
    const started = Date.now()
    let err: unknown
    try {
      img.readFile(img.resolve('x'))
    } catch (e) {
      err = e
    }
    t.ok(isRazorError(err), `${name}: a RazorError (${(err as Error)?.message})`)
    t.match((err as Error)?.message ?? '', want, `${name}: says why`)
    t.ok(Date.now() - started < 5000, `${name}: fast`)
    t.ok(img.check({checkData: true}).problems.length > 0, `${name}: check reports it`)
    img.close()
    // repair leaves a clean image
    const rep = core.fsck(p, {mode: 'repair', force: true, undoFile: p + '.undo'})
    void rep
    const after = Image.open(p)
    t.same(
      after
        .check({checkData: true})
        .problems.filter((x) => x.id !== 'DATA_CHECKSUM')
        .map((x) => x.message),
      [],
      `${name}: clean after repair`,
    )
    after.close()
  }
  void STORAGE_PACKED
})

t.test('fsck repairs wrong refs and unreferenced packs', async (t) => {
  const dir = tmpDir(t, 'packfsck')
  const root = path.join(dir, 'tree')
  fs.mkdirSync(root)
  fs.writeFileSync(path.join(root, 'x'), text('x', 2000))
  fs.writeFileSync(path.join(root, 'y'), text('y', 3000))
  const p = path.join(dir, 'f.img')
  await build(p, root, {workers: 0})
  let img = Image.open(p, {readOnly: false})
  const block = packsOf(img)[0]!.block
  const r = packRecord.decode(img.volume.tree.get(packKey(block))!)
  img.volume.tree.put(packKey(block), packRecord.encode({...r, refs: 9}))
  img.close()
  img = Image.open(p)
  t.same(
    img.check().problems.map((x) => x.id),
    ['PACK_REFS_WRONG'],
  )
  img.close()
  core.fsck(p, {mode: 'repair', force: true, undoFile: p + '.undo'})
  img = Image.open(p, {readOnly: false})
  t.same(img.check().problems, [], 'refs repaired')
  t.equal(packsOf(img)[0]!.refs, 2)
  // drop both extents by hand: the pack is unreferenced
  img.volume.tree.delete({objectid: img.resolve('x'), type: 3, offset: 0})
  img.volume.tree.delete({objectid: img.resolve('y'), type: 3, offset: 0})
  img.close()
  img = Image.open(p)
  t.same(
    img.check().problems.map((x) => x.id),
    ['PACK_UNREFERENCED', 'BLOCK_MARKED_NOT_USED'].slice(0, 1),
  )
  img.close()
  core.fsck(p, {mode: 'repair', force: true, undoFile: p + '.undo'})
  img = Image.open(p)
  t.same(img.check().problems, [], 'unreferenced pack freed')
  t.same(packsOf(img), [])
  img.close()
})
