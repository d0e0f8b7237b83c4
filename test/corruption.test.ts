// Damaged and crafted images: a corrupted metadata or data block is reported
// as a checksum error naming the block, never returned as data; crafted
// structures (loops, bombs, out-of-range pointers) fail cleanly and quickly.
import t, {type Test} from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import {AttrPolicy, buildImage, Image, isRazorError, RazorError} from '../src/core/index.js'
import {zstdCompress} from '../src/core/fs/compression.js'
import {crc32} from '../src/core/format/checksum.js'
import {encodeExtent, COMPRESSION_ZSTD, STORAGE_BLOCKS} from '../src/core/format/extent.js'
import {ItemType} from '../src/core/format/keys.js'
import {addEntry} from '../src/core/fs/directory.js'
import type {Volume} from '../src/core/fs/volume.js'
import {tmpDir} from './helpers/image.js'

const vol = (img: Image): Volume => (img as unknown as {v: Volume}).v

function flipByte(file: string, pos: number): void {
  const fd = fs.openSync(file, 'r+')
  const b = Buffer.alloc(1)
  fs.readSync(fd, b, 0, 1, pos)
  b[0]! ^= 0x5a
  fs.writeSync(fd, b, 0, 1, pos)
  fs.closeSync(fd)
}

function small(t: Test): string {
  const p = path.join(tmpDir(t, 'corrupt'), 'c.img')
  const img = Image.create(p, {size: 16 << 20, journalBlocks: 0})
  const d = img.mkdir(1, 'd', {})
  const f = img.create(d, 'file', {})
  img.write(f, 0, Buffer.from('x'.repeat(100000) + 'tail'))
  img.close()
  return p
}

function thrown(fn: () => unknown): RazorError {
  try {
    fn()
  } catch (e) {
    if (isRazorError(e)) return e
    throw e
  }
  throw new Error('did not throw')
}

t.test('a flipped byte in a tree block is a checksum error naming the block', async (t) => {
  const p = small(t)
  const root = Image.open(p).info().layout.treeRoot
  flipByte(p, root * 4096 + 200)
  const img = Image.open(p)
  const e = thrown(() => img.resolve('/d/file'))
  t.equal(e.code, 'ECHECKSUM')
  t.equal(e.data.block, root)
  t.match(e.message, new RegExp(`block ${root}\\b`))
  img.close()
})

t.test('a flipped byte in file data is a checksum error naming inode and block', async (t) => {
  const p = small(t)
  let img = Image.open(p)
  const ino = img.resolve('/d/file')
  const ext = img.extents(ino)
  img.close()
  const onDisk = ext.find((x) => x.blocks > 0)!
  flipByte(p, onDisk.block * 4096 + 3)
  img = Image.open(p)
  const e = thrown(() => img.readFile(ino))
  t.equal(e.code, 'ECHECKSUM')
  t.equal(e.data.ino, ino)
  t.equal(e.data.block, onDisk.block)
  img.close()
})

t.test('a zeroed or foreign superblock: not an image / checksum error', async (t) => {
  const p = small(t)
  const fd = fs.openSync(p, 'r+')
  fs.writeSync(fd, Buffer.alloc(4096), 0, 4096, 0)
  fs.closeSync(fd)
  t.equal(thrown(() => Image.open(p)).code, 'ENOTIMAGE')
  const q = small(t)
  flipByte(q, 300) // inside the superblock, past the signature
  t.equal(thrown(() => Image.open(q)).code, 'ECHECKSUM')
  const r = small(t)
  fs.truncateSync(r, 8 << 20)
  t.equal(thrown(() => Image.open(r)).code, 'ETRUNCATED')
})

t.test('a misdirected block (a valid block copied elsewhere) is detected', async (t) => {
  const p = small(t)
  const root = Image.open(p).info().layout.treeRoot
  const fd = fs.openSync(p, 'r+')
  const blk = Buffer.alloc(4096)
  fs.readSync(fd, blk, 0, 4096, root * 4096)
  // write the root's content into the block the superblock will be pointed at
  const other = root + 50
  fs.writeSync(fd, blk, 0, 4096, other * 4096)
  fs.closeSync(fd)
  const img = Image.open(p, {readOnly: false})
  vol(img).tree.root = other
  ;(vol(img).tree as unknown as {store: {clear(): void}}).store.clear()
  const e = thrown(() => img.resolve('/d'))
  t.equal(e.code, 'ECHECKSUM')
  t.match(e.message, /misdirected/)
})

t.test('symlink loops end with ELOOP', async (t) => {
  const p = path.join(tmpDir(t, 'loop'), 'l.img')
  const img = Image.create(p, {size: 16 << 20})
  img.symlink(1, 'a', 'b', {})
  img.symlink(1, 'b', '/a', {})
  t.equal(thrown(() => img.resolve('a', {follow: true})).code, 'ELOOP')
  t.equal(thrown(() => img.resolve('a/x')).code, 'ELOOP')
  img.close()
})

t.test('a compression bomb costs at most one cluster and is refused', async (t) => {
  const p = path.join(tmpDir(t, 'bomb'), 'b.img')
  const img = Image.create(p, {size: 64 << 20})
  const ino = img.create(1, 'bomb', {})
  img.write(ino, 0, Buffer.alloc(10, 1))
  const v = vol(img)
  const bomb = zstdCompress(Buffer.alloc(64 << 20), 19, 1 << 20)!
  const run = v.alloc.alloc(Math.ceil(bomb.length / 4096))
  v.dev.write(run.start * 4096, bomb)
  v.tree.put(
    {objectid: ino, type: ItemType.EXTENT, offset: 0},
    encodeExtent({
      storage: STORAGE_BLOCKS,
      compression: COMPRESSION_ZSTD,
      crc: crc32(bomb),
      length: 131072,
      block: run.start,
      stored: bomb.length,
    }),
  )
  const before = process.memoryUsage().rss
  const e = thrown(() => img.read(ino, 0, 10))
  t.equal(e.code, 'ECORRUPT')
  t.ok(process.memoryUsage().rss - before < 32 << 20, 'no large allocation')
  img.close()
})

t.test('extents and tree pointers outside the image are refused', async (t) => {
  const p = path.join(tmpDir(t, 'range'), 'r.img')
  const img = Image.create(p, {size: 16 << 20})
  const ino = img.create(1, 'f', {})
  const v = vol(img)
  v.tree.put(
    {objectid: ino, type: ItemType.EXTENT, offset: 0},
    encodeExtent({storage: STORAGE_BLOCKS, compression: 0, crc: 0, length: 4096, block: 10 ** 12, stored: 4096}),
  )
  t.equal(thrown(() => img.extents(ino)).code, 'ECORRUPT')
  // a directory entry naming an ancestor does not make resolve loop
  addEntry(v, 1, Buffer.from('up'), 1, 2)
  t.equal(img.resolve('/up/up/up/up'), 1)
  img.close()
})

t.test('a flipped byte in a pack is a checksum error naming the pack, for every file in it', async (t) => {
  const dir = tmpDir(t, 'corrupt-pack')
  const root = path.join(dir, 'tree')
  fs.mkdirSync(root)
  for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(root, `f${i}`), `file ${i} `.repeat(200 + i))
  const p = path.join(dir, 'p.img')
  const img = Image.create(p, {size: 16 << 20, bulk: true})
  await buildImage(img, {root, workers: 0, policy: new AttrPolicy(), now: () => ({sec: 1_700_000_000, nsec: 0})})
  img.close()
  let r = Image.open(p)
  const x = r.extents(r.resolve('f0'))[0]!
  t.equal(x.kind, 'packed')
  r.close()
  flipByte(p, x.block * 4096 + 3)
  r = Image.open(p)
  for (let i = 0; i < 5; i++) {
    const e = thrown(() => r.readFile(r.resolve(`f${i}`)))
    t.equal(e.code, 'ECHECKSUM')
    t.equal(e.data.block, x.block)
    t.match(e.message, new RegExp(`pack at block ${x.block}\\b`))
  }
  r.close()
})
