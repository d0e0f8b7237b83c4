/**
 * An independent reader of RAZORFS images, written from docs/FORMAT.md only
 * (no code from src/core), with CRC32 from the `crc` package. It walks every
 * metadata block (superblock, backup, bitmap, tree nodes) and every stored
 * byte range that carries a CRC (extents, external xattr values) and checks
 * each CRC. Used by test/crc.test.ts.
 */
import fs from 'node:fs'
import {crc32} from 'crc'

export const MAGIC = 0x424d5a52
const HEADER = 48
const KEY = 17
const ITEM = 25

export interface RawSuper {
  blockSize: number
  clusterSize: number
  blockCount: number
  bitmapStart: number
  bitmapBlocks: number
  journalStart: number
  journalBlocks: number
  treeRoot: number
  treeHeight: number
  uuid: Buffer
}

export interface RawReport {
  sb: RawSuper
  /** Metadata blocks whose CRC was recomputed and matched, by kind. */
  verified: {superblock: number; bitmap: number; uninitialisedBitmap: number; leaf: number; interior: number}
  /** Data CRCs recomputed and matched. */
  extents: {inline: number; blocks: number}
  xattrs: {external: number}
  /** inode → CRCs of its extents by logical offset, as stored in the records. */
  extentCrcs: Map<number, Map<number, number>>
  /** Every mismatch or structural problem found. */
  problems: string[]
}

/** CRC32 (IEEE, as zlib) of a block with the 4 bytes at 8..12 read as zero, by the `crc` package. */
export function headerCrc(block: Buffer): number {
  const copy = Buffer.from(block)
  copy.writeUInt32LE(0, 8)
  return crc32(copy) >>> 0
}

function u64(b: Buffer, at: number): number {
  const v = b.readBigUInt64LE(at)
  if (v >= 2n ** 53n) throw new Error(`u64 at ${at} is ${v} (>= 2^53)`)
  return Number(v)
}

export class RawImage {
  private fd: number
  readonly size: number
  constructor(readonly path: string) {
    this.fd = fs.openSync(path, 'r')
    this.size = fs.fstatSync(this.fd).size
  }
  close(): void {
    fs.closeSync(this.fd)
  }
  bytes(offset: number, length: number): Buffer {
    const b = Buffer.alloc(length)
    let done = 0
    while (done < length) {
      const n = fs.readSync(this.fd, b, done, length - done, offset + done)
      if (n === 0) break
      done += n
    }
    return b
  }
  block(bs: number, n: number): Buffer {
    return this.bytes(n * bs, bs)
  }

  superblock(): RawSuper {
    const b = this.bytes(0, 1024)
    return {
      blockSize: b.readUInt32LE(60),
      clusterSize: b.readUInt32LE(64),
      blockCount: u64(b, 96),
      bitmapStart: u64(b, 128),
      bitmapBlocks: u64(b, 136),
      journalStart: u64(b, 144),
      journalBlocks: u64(b, 152),
      treeRoot: u64(b, 160),
      treeHeight: b.readUInt32LE(168),
      uuid: Buffer.from(b.subarray(24, 40)),
    }
  }

  /** Walk everything; never throws for image content (problems are listed). */
  verify(): RawReport {
    const sb = this.superblock()
    const bs = sb.blockSize
    const r: RawReport = {
      sb,
      verified: {superblock: 0, bitmap: 0, uninitialisedBitmap: 0, leaf: 0, interior: 0},
      extents: {inline: 0, blocks: 0},
      xattrs: {external: 0},
      extentCrcs: new Map(),
      problems: [],
    }
    const check = (block: Buffer, n: number, type: number, what: string): boolean => {
      const problems: string[] = []
      if (block.readUInt32LE(0) !== MAGIC) problems.push('bad magic')
      const stored = block.readUInt32LE(8)
      const want = headerCrc(block)
      if (stored !== want) problems.push(`crc 0x${stored.toString(16)} != recomputed 0x${want.toString(16)}`)
      if (u64(block, 16) !== n) problems.push(`blocknr ${u64(block, 16)}`)
      if (!block.subarray(24, 40).equals(sb.uuid)) problems.push('uuid differs')
      if (block.readUInt16LE(4) !== type) problems.push(`type ${block.readUInt16LE(4)} != ${type}`)
      for (const p of problems) r.problems.push(`${what} block ${n}: ${p}`)
      return problems.length === 0
    }
    if (check(this.block(bs, 0), 0, 1, 'superblock')) r.verified.superblock++
    const backup = this.block(bs, sb.blockCount - 1)
    if (check(backup, sb.blockCount - 1, 1, 'backup superblock')) r.verified.superblock++
    // the backup equals the primary except blocknr and crc (and the zero padding after 1024)
    const p = this.bytes(0, 1024)
    const q = backup.subarray(0, 1024)
    for (const [lo, hi] of [[0, 8], [12, 16], [24, 1024]]) if (!p.subarray(lo, hi).equals(q.subarray(lo, hi))) r.problems.push(`backup superblock differs from the primary in bytes ${lo}..${hi}`)
    if (this.size !== sb.blockCount * bs) r.problems.push(`image file is ${this.size} bytes, superblock says ${sb.blockCount} × ${bs}`)

    for (let i = 0; i < sb.bitmapBlocks; i++) {
      const n = sb.bitmapStart + i
      const b = this.block(bs, n)
      if (b.every(x => x === 0)) r.verified.uninitialisedBitmap++
      else if (check(b, n, 2, 'bitmap')) r.verified.bitmap++
    }

    const walk = (n: number, level: number, depth: number): void => {
      if (depth > 16) {
        r.problems.push(`tree deeper than 16 at block ${n}`)
        return
      }
      const b = this.block(bs, n)
      const leaf = level === 0
      if (!check(b, n, leaf ? 3 : 4, leaf ? 'tree leaf' : 'tree node')) return
      if (b.readUInt16LE(6) !== level) r.problems.push(`tree block ${n}: level ${b.readUInt16LE(6)}, expected ${level}`)
      const nitems = b.readUInt32LE(HEADER)
      if (leaf) r.verified.leaf++
      else r.verified.interior++
      for (let i = 0; i < nitems; i++) {
        const at = HEADER + 8 + i * ITEM
        if (at + ITEM > bs) {
          r.problems.push(`tree block ${n}: ${nitems} items do not fit`)
          return
        }
        const objectid = u64(b, at)
        const type = b[at + 8]
        const offset = u64(b, at + 9)
        if (!leaf) {
          walk(u64(b, at + KEY), level - 1, depth + 1)
          continue
        }
        const vo = b.readUInt32LE(at + KEY)
        const vs = b.readUInt32LE(at + KEY + 4)
        if (vo + vs > bs) {
          r.problems.push(`tree leaf ${n}: item ${i} value outside the block`)
          continue
        }
        const v = b.subarray(vo, vo + vs)
        if (type === 3) this.extent(r, bs, objectid, offset, v)
        else if (type === 4) this.xattrs(r, bs, objectid, v)
      }
    }
    walk(sb.treeRoot, sb.treeHeight - 1, 0)
    return r
  }

  private extent(r: RawReport, bs: number, ino: number, offset: number, v: Buffer): void {
    const storage = v[0]
    const crc = v.readUInt32LE(4)
    const block = u64(v, 16)
    const stored = v.readUInt32LE(24)
    const data = storage === 0 ? v.subarray(32, 32 + stored) : this.bytes(block * bs, stored)
    const got = crc32(data) >>> 0
    if (!r.extentCrcs.has(ino)) r.extentCrcs.set(ino, new Map())
    r.extentCrcs.get(ino)!.set(offset, crc)
    if (got !== crc) r.problems.push(`inode ${ino} extent @${offset} (${storage === 0 ? 'inline' : `block ${block}`}): crc 0x${crc.toString(16)} != recomputed 0x${got.toString(16)}`)
    else if (storage === 0) r.extents.inline++
    else r.extents.blocks++
  }

  private xattrs(r: RawReport, bs: number, ino: number, v: Buffer): void {
    let o = 0
    while (o + 8 <= v.length) {
      const nlen = v[o]
      const ext = (v[o + 1] & 1) !== 0
      const vlen = v.readUInt32LE(o + 4)
      const nameEnd = o + 8 + nlen
      if (ext) {
        const block = u64(v, nameEnd)
        const crc = v.readUInt32LE(nameEnd + 8)
        const got = crc32(this.bytes(block * bs, vlen)) >>> 0
        const name = v.subarray(o + 8, nameEnd).toString('utf8')
        if (got !== crc) r.problems.push(`inode ${ino} xattr ${name} (block ${block}): crc 0x${crc.toString(16)} != recomputed 0x${got.toString(16)}`)
        else r.xattrs.external++
        o = nameEnd + 12
      } else o = nameEnd + vlen
    }
  }
}
