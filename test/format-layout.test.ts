// Pins the byte layout of every on-disk structure to docs/FORMAT.md: a
// reordered or resized field fails here (the role of e2fsprogs' tst_super_size).
import t from 'tap'
import {blockHeader, HEADER_SIZE} from '../src/core/format/header.js'
import {superblockBody, SUPERBLOCK_BODY_OFFSET, SUPERBLOCK_SIZE} from '../src/core/format/superblock.js'
import {inodeRecord} from '../src/core/format/inode.js'
import {extentRecord, maxInline} from '../src/core/format/extent.js'
import {packRecord} from '../src/core/format/pack.js'
import {ITEM_SIZE, NODE_HEADER} from '../src/core/format/node.js'
import {KEY_SIZE, nameHash} from '../src/core/format/keys.js'
import {bitsPerBitmapBlock} from '../src/core/format/bitmap.js'
import {featureMask, featureNames, unknownBits} from '../src/core/format/features.js'
import {bytes, s64, struct, u32, u64, u8} from '../src/core/format/codec.js'
import {UNDO_MAGIC, undoHeader, undoRecordHead} from '../src/core/format/undo.js'
import {decodeDirents, direntHead, encodeDirents} from '../src/core/format/dirent.js'
import {decodeXattrs, encodeXattrs, xattrExternal, xattrHead} from '../src/core/format/xattr.js'
import {
  commitBody,
  DESCRIPTOR_ENTRIES_AT,
  descriptorEntry,
  descriptorHead,
  readDescriptorEntries,
  writeDescriptorEntries,
} from '../src/core/format/journal.js'
import {applyUndo, UndoDevice} from '../src/core/io/undo.js'
import {MemoryDevice} from '../src/core/io/device.js'
import {Image, S_IFCHR} from '../src/core/index.js'
import {normalizeCreateOptions} from '../src/core/image/create-options.js'
import {crc32} from '../src/core/format/checksum.js'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

t.test('block header: 48 bytes, fields where FORMAT.md §3 puts them', async (t) => {
  t.equal(HEADER_SIZE, 48)
  const at = (f: string) => blockHeader.offsetOf(f)
  t.same(
    [at('magic'), at('type'), at('level'), at('crc'), at('blocknr'), at('uuid'), at('generation')],
    [0, 4, 6, 8, 16, 24, 40],
  )
})

t.test('superblock: offsets of FORMAT.md §4, fits in 1024 bytes', async (t) => {
  const at = (f: string) => SUPERBLOCK_BODY_OFFSET + superblockBody.offsetOf(f)
  const expected: Record<string, number> = {
    signature: 48,
    version: 56,
    blockSize: 60,
    clusterSize: 64,
    state: 68,
    compat: 72,
    roCompat: 80,
    incompat: 88,
    blockCount: 96,
    freeBlocks: 104,
    inodeCount: 112,
    nextIno: 120,
    bitmapStart: 128,
    bitmapBlocks: 136,
    journalStart: 144,
    journalBlocks: 152,
    treeRoot: 160,
    treeHeight: 168,
    compression: 172,
    compressionLevel: 173,
    createdSec: 176,
    createdNsec: 184,
    modifiedSec: 192,
    modifiedNsec: 200,
    writeCount: 204,
    generation: 208,
    journalSeq: 216,
    journalHead: 224,
    journalFlags: 232,
    label: 240,
  }
  for (const [f, off] of Object.entries(expected)) t.equal(at(f), off, f)
  t.equal(SUPERBLOCK_BODY_OFFSET + superblockBody.size, 304)
  t.ok(SUPERBLOCK_BODY_OFFSET + superblockBody.size <= SUPERBLOCK_SIZE)
})

t.test('inode record: 128 bytes (§7)', async (t) => {
  t.equal(inodeRecord.size, 128)
  const at = (f: string) => inodeRecord.offsetOf(f)
  t.same(
    [
      at('mode'),
      at('uid'),
      at('gid'),
      at('nlink'),
      at('size'),
      at('flags'),
      at('generation'),
      at('rdev'),
      at('parent'),
      at('allocBlocks'),
      at('atimeSec'),
      at('mtimeSec'),
      at('ctimeSec'),
      at('crtimeSec'),
    ],
    [0, 4, 8, 12, 16, 24, 32, 40, 48, 56, 64, 76, 88, 100],
  )
})

t.test('extent record: 32 bytes (§10); nodes and keys (§6); bitmap (§5)', async (t) => {
  t.equal(extentRecord.size, 32)
  t.same(
    [
      extentRecord.offsetOf('crc'),
      extentRecord.offsetOf('length'),
      extentRecord.offsetOf('block'),
      extentRecord.offsetOf('stored'),
    ],
    [4, 8, 16, 24],
  )
  t.equal(KEY_SIZE, 17)
  t.equal(ITEM_SIZE, 25)
  t.equal(NODE_HEADER, 56)
  t.equal(bitsPerBitmapBlock(4096), (4096 - 48) * 8)
  t.equal(maxInline(4096), 1920)
  t.equal(maxInline(1024), 384)
  t.equal(maxInline(65536), 2048)
})

t.test('variable-length heads: dirent (§8), xattr (§11), journal descriptor entries (§9)', async (t) => {
  t.equal(direntHead.size, 10)
  t.same(direntHead.offsets, {ino: 0, ftype: 8, nameLen: 9})
  t.equal(xattrHead.size, 8)
  t.same(xattrHead.offsets, {nameLen: 0, flags: 1, reserved: 2, valueLen: 4})
  t.equal(xattrExternal.size, 12)
  t.same(xattrExternal.offsets, {block: 0, crc: 8})
  t.equal(descriptorHead.size, 16)
  t.equal(DESCRIPTOR_ENTRIES_AT, 64)
  t.equal(descriptorEntry.size, 12)
  t.same(descriptorEntry.offsets, {target: 0, crc: 8})
  t.same([commitBody.offsetOf('seq'), commitBody.offsetOf('treeRoot')], [0, 16])
  // the bytes, laid out by hand as FORMAT.md gives them
  const d = Buffer.from([2, 0, 0, 0, 1, 0, 0, 0, 1, 3, 0x61, 0x62, 0x63])
  t.ok(encodeDirents([{ino: 2 ** 32 + 2, ftype: 1, name: Buffer.from('abc')}]).equals(d))
  t.same(decodeDirents(d), [{ino: 2 ** 32 + 2, ftype: 1, name: Buffer.from('abc')}])
  const inline = Buffer.from([1, 0, 0, 0, 2, 0, 0, 0, 0x6e, 0x76, 0x77])
  const external = Buffer.from([1, 1, 0, 0, 0x28, 0x23, 0, 0, 0x6e, 9, 0, 0, 0, 1, 0, 0, 0, 0xef, 0xbe, 0xad, 0xde])
  const xs = [
    {name: Buffer.from('n'), valueLen: 2, value: Buffer.from('vw')},
    {name: Buffer.from('n'), valueLen: 9000, block: 2 ** 32 + 9, crc: 0xdeadbeef},
  ]
  t.ok(encodeXattrs(xs).equals(Buffer.concat([inline, external])))
  t.same(decodeXattrs(Buffer.concat([inline, external])), xs)
  const j = Buffer.alloc(64 + 24)
  writeDescriptorEntries(j, [
    {target: 5, crc: 6},
    {target: 2 ** 32 + 7, crc: 8},
  ])
  t.ok(j.subarray(64).equals(Buffer.from([5, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0])))
  t.same(readDescriptorEntries(j, 2), [
    {target: 5, crc: 6},
    {target: 2 ** 32 + 7, crc: 8},
  ])
})

t.test('codec round-trips and refuses u64 values of 2^53 and above', async (t) => {
  const s = struct([
    ['a', u8],
    ['b', u32],
    ['c', u64],
    ['d', s64],
    ['e', bytes(4)],
  ] as const)
  const v = {a: 7, b: 0xfffffffe, c: 2 ** 53 - 1, d: -(2 ** 40) - 3, e: Buffer.from('abcd')}
  const enc = s.encode(v)
  t.equal(enc.length, 25)
  t.same(s.decode(enc), v)
  enc.writeUInt32LE(0x200000, 9) // high word of c (at 5) = 2^53
  t.throws(() => s.decode(enc), /2\^53/)
})

t.test('name hash: 52 bits, never 0-2, stable', async (t) => {
  const h = nameHash(Buffer.from('hello'))
  t.ok(h >= 3 && h < 2 ** 52)
  t.equal(h, nameHash(Buffer.from('hello')))
  t.not(h, nameHash(Buffer.from('hellp')))
  // pinned: changing the hash is a format break
  t.equal(nameHash(Buffer.from('razorfs')), 0xb7dbb65b6f647)
})

t.test('pack record: 24 bytes, fields of FORMAT.md §10 (packs)', async (t) => {
  t.equal(packRecord.size, 24)
  const at = (f: string) => packRecord.offsetOf(f)
  t.same([at('refs'), at('compression'), at('length'), at('stored'), at('crc')], [0, 4, 8, 12, 16])
})

t.test('feature table: unknown bits are reported', async (t) => {
  t.equal(featureMask('incompat'), 7) // zstd, needs_recovery, packed
  t.same(featureNames('incompat', 1 + 4 + 8), ['zstd', 'packed', 'incompat_bit3'])
  t.equal(unknownBits('incompat', 1 + 4 + 8), 8)
  t.equal(unknownBits('roCompat', 0), 0)
})

t.test('undo file: 64-byte header and 16-byte record heads (§14); existing files still apply', async (t) => {
  t.equal(undoHeader.size, 64)
  t.equal(undoRecordHead.size, 16)
  const h = (f: string) => undoHeader.offsetOf(f)
  t.same([h('magic'), h('blockSize'), h('state'), h('imageSize'), h('uuid'), h('sbCrc')], [0, 8, 12, 16, 24, 40])
  t.same([undoRecordHead.offsetOf('block'), undoRecordHead.offsetOf('crc')], [0, 8])
  t.equal(UNDO_MAGIC.toString('latin1'), 'RZUNDO01')
  // a file laid out by hand as the code before the declaration wrote it
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'undo-layout-'))
  t.teardown(() => fs.rmSync(dir, {recursive: true, force: true}))
  const img = path.join(dir, 'img')
  fs.writeFileSync(img, Buffer.alloc(4 * 1024, 0xee))
  const old = Buffer.alloc(1024, 0x11)
  const head = Buffer.alloc(64)
  head.write('RZUNDO01', 0, 'latin1')
  head.writeUInt32LE(1024, 8)
  head.writeUInt32LE(3 * 1024, 16)
  const rec = Buffer.alloc(16)
  rec.writeUInt32LE(2, 0)
  rec.writeUInt32LE(crc32(old), 8)
  const undo = path.join(dir, 'undo')
  fs.writeFileSync(undo, Buffer.concat([head, rec, old]))
  t.same(applyUndo(undo, img), {blocks: 1, imageSize: 3 * 1024})
  const after = fs.readFileSync(img)
  t.equal(after.length, 3 * 1024)
  t.ok(after.subarray(2048, 3072).equals(old) && after.subarray(0, 2048).every((b) => b === 0xee))
  // and the writer produces exactly that layout
  const dev = new MemoryDevice(0)
  dev.write(0, Buffer.alloc(3 * 1024, 0x11))
  const u = new UndoDevice(dev, 1024, path.join(dir, 'undo2'), Buffer.alloc(16, 7))
  u.write(2048, Buffer.alloc(1024, 0x22))
  u.close()
  const written = fs.readFileSync(path.join(dir, 'undo2'))
  t.same(undoHeader.decode(written), {
    magic: UNDO_MAGIC,
    blockSize: 1024,
    state: 0,
    imageSize: 3 * 1024,
    uuid: Buffer.alloc(16, 7),
    sbCrc: 0,
  })
  t.ok(written.subarray(64, 80).equals(rec) && written.subarray(80).equals(old))
})

t.test('u64 exceptions (header): device numbers above 2^53 are refused, not written unreadable', async (t) => {
  const dev = new MemoryDevice(0)
  const img = Image.format('rdev', dev, normalizeCreateOptions({size: 4 << 20}))
  t.throws(() => img.create(1, 'big', {mode: S_IFCHR | 0o600, rdev: 2 ** 60}), {code: 'ERANGE'})
  const ok = img.create(1, 'max', {mode: S_IFCHR | 0o600, rdev: 2 ** 53 - 1})
  const small = img.create(1, 'small', {mode: S_IFCHR | 0o600, rdev: 0x0501})
  t.throws(() => img.setattr(small, {rdev: 2 ** 53}), {code: 'ERANGE'})
  img.close()
  const again = Image.openDevice('rdev', dev)
  t.equal(again.stat(ok).rdev, 2 ** 53 - 1)
  t.same(
    again
      .readdir(1)
      .map((e) => e.name.toString())
      .sort(),
    ['max', 'small'],
  )
  again.close()
})
