/**
 * CRC32: the core's checksum (src/core/format/checksum.ts, zlib's crc32)
 * against the independent `crc` package, on random buffers and on every
 * metadata block and every checksummed data range of real images, read raw
 * from the image file by test/helpers/rawformat.ts (written from
 * docs/FORMAT.md, not from src/core).
 */
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import {crc32 as refCrc32} from 'crc'
import {crc32, crc32Skipping} from '../src/core/format/checksum.js'
import {Image, isRazorError} from '../src/core/index.js'
import {mixedTree} from './helpers/tree.js'
import {describeImageFile} from './helpers/compare.js'
import {buildImage, tmpDir, MiB} from './helpers/image.js'
import {RawImage, headerCrc} from './helpers/rawformat.js'
import {Rng} from './helpers/rng.js'

t.test('known answers', async (t) => {
  t.equal(crc32(Buffer.from('123456789')), 0xcbf43926, 'check value of CRC-32/ISO-HDLC')
  t.equal(refCrc32(Buffer.from('123456789')) >>> 0, 0xcbf43926, 'the reference agrees')
  t.equal(crc32(Buffer.alloc(0)), 0)
})

t.test('random buffers', async (t) => {
  const rng = new Rng('crc-test')
  const sizes = [1, 2, 3, 4, 7, 8, 15, 16, 31, 63, 64, 65, 1000, 1023, 1024, 4095, 4096, 4097, 65536, 131072, MiB + 13]
  for (let i = 0; i < 40; i++) sizes.push(rng.int(1, 300_000))
  for (const n of sizes) {
    const b = rng.bytes(n)
    t.equal(crc32(b), refCrc32(b) >>> 0, `${n} bytes`)
  }
  // chaining: crc32(b, crc32(a)) === crc32(a ‖ b)
  const a = rng.bytes(5000)
  const b = rng.bytes(7001)
  t.equal(crc32(b, crc32(a)), refCrc32(Buffer.concat([a, b])) >>> 0, 'seeded continuation')
  t.equal(crc32(b, crc32(a)), refCrc32(b, refCrc32(a)) >>> 0)
  // crc32Skipping: as if the 4 bytes at the offset were zero
  for (const off of [0, 8, 100, 4092]) {
    const blk = rng.bytes(4096)
    const z = Buffer.from(blk)
    z.writeUInt32LE(0, off)
    t.equal(crc32Skipping(blk, off), refCrc32(z) >>> 0, `crc32Skipping at ${off}`)
  }
})

for (const variant of [
  {name: '4 KiB blocks, zstd', opts: {size: 128 * MiB}},
  {
    name: '1 KiB blocks, no compression',
    opts: {size: 128 * MiB, blockSize: 1024, compression: {algorithm: 'none' as const, level: 0}},
  },
  {name: '64 KiB blocks', opts: {size: 256 * MiB, blockSize: 65536}},
]) {
  t.test(`every metadata block and data CRC of a real image (${variant.name})`, async (t) => {
    const root = await mixedTree()
    const dir = tmpDir(t, 'crc')
    const img = buildImage(path.join(dir, 'm.img'), root, variant.opts)
    const raw = new RawImage(img.path)
    t.teardown(() => raw.close())
    const r = raw.verify()
    t.comment(
      `verified ${JSON.stringify(r.verified)}, extents ${JSON.stringify(r.extents)}, external xattrs ${r.xattrs.external}`,
    )
    t.same(r.problems, [], 'no CRC mismatch and no structural problem')
    t.equal(r.verified.superblock, 2, 'primary and backup superblock')
    t.ok(r.verified.bitmap >= 1, 'bitmap blocks')
    t.ok(r.verified.leaf > 10, 'tree leaves')
    t.ok(r.verified.interior >= 1, 'interior tree nodes')
    t.ok(r.extents.blocks > 100, 'block extents')
    if (variant.opts.blockSize !== 65536) t.ok(r.xattrs.external >= 1, 'external xattr values (the 3000-byte one)')
    // the library reports the same CRCs as the records hold
    const lib = Image.open(img.path, {readOnly: true})
    t.teardown(() => lib.close())
    let checked = 0
    const bad: string[] = []
    for (const [ino, byOff] of r.extentCrcs) {
      for (const x of lib.extents(ino)) {
        if (byOff.get(x.offset) !== x.crc)
          bad.push(`inode ${ino} @${x.offset}: library crc ${x.crc}, record ${byOff.get(x.offset)}`)
        checked++
      }
    }
    t.same(bad, [], `img.extents() CRCs equal the on-disk records (${checked} extents)`)
  })
}

t.test('a flipped bit is caught by the reference and by the library', async (t) => {
  const root = await mixedTree()
  const dir = tmpDir(t, 'crc')
  const img = buildImage(path.join(dir, 'm.img'), root, {size: 128 * MiB})
  const raw0 = new RawImage(img.path)
  const sb = raw0.superblock()
  const bs = sb.blockSize
  // find a leaf and an extent's data block
  let leaf = -1
  {
    let n = sb.treeRoot
    for (let level = sb.treeHeight - 1; level > 0; level--) n = Number(raw0.block(bs, n).readBigUInt64LE(48 + 8 + 17))
    leaf = n
  }
  raw0.close()
  const lib = Image.open(img.path, {readOnly: true})
  const victim = lib.resolve('/links/random-a')
  const ext = lib.extents(victim).find((x) => x.kind !== 'inline')!
  lib.close()
  t.ok(ext, 'a block extent to corrupt')

  // 1. a tree leaf
  const c1 = path.join(dir, 'leaf.img')
  fs.copyFileSync(img.path, c1)
  const fd1 = fs.openSync(c1, 'r+')
  const pos = leaf * bs + bs - 7
  const byte = Buffer.alloc(1)
  fs.readSync(fd1, byte, 0, 1, pos)
  byte[0] ^= 0x10
  fs.writeSync(fd1, byte, 0, 1, pos)
  fs.closeSync(fd1)
  const r1 = new RawImage(c1)
  const rep1 = r1.verify()
  r1.close()
  t.match(
    rep1.problems.join('\n'),
    new RegExp(`tree (leaf|node) block ${leaf}: crc`),
    'the reference sees the leaf mismatch',
  )
  let libErr: unknown
  try {
    await describeImageFile(c1).then((d) => {
      if (d.problems.length) throw new Error(d.problems.join('\n'))
    })
  } catch (e) {
    libErr = e
  }
  t.ok(libErr, 'the library refuses the corrupt leaf')
  t.match(
    String((libErr as Error).message),
    /checksum|block/i,
    `library error names a checksum: ${(libErr as Error)?.message?.slice(0, 200)}`,
  )

  // 2. a data block
  const c2 = path.join(dir, 'data.img')
  fs.copyFileSync(img.path, c2)
  const fd2 = fs.openSync(c2, 'r+')
  fs.writeSync(fd2, crypto.randomBytes(1), 0, 1, ext.block * bs + 10)
  fs.closeSync(fd2)
  const r2 = new RawImage(c2)
  const rep2 = r2.verify()
  r2.close()
  t.match(
    rep2.problems.join('\n'),
    new RegExp(`inode ${victim} extent @${ext.offset} .*crc`),
    'the reference sees the data mismatch',
  )
  const l2 = Image.open(c2, {readOnly: true})
  t.teardown(() => l2.close())
  let readErr: unknown
  try {
    l2.read(victim, ext.offset, ext.length)
  } catch (e) {
    readErr = e
  }
  t.ok(
    isRazorError(readErr, 'ECHECKSUM'),
    `library read of the extent fails with ECHECKSUM (${(readErr as Error)?.message})`,
  )
  t.equal(headerCrc(Buffer.alloc(4096)), refCrc32(Buffer.alloc(4096)) >>> 0)
})
