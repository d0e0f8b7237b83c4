/**
 * An independent reader of RAZORFS images, written from docs/FORMAT.md only
 * (no code from src/core), with CRC32 from the `crc` package. It walks every
 * metadata block (superblock, backup, bitmap, tree nodes) and every stored
 * byte range that carries a CRC (extents, external xattr values) and checks
 * each CRC. Used by test/crc.test.ts. `RawRecovery` recovers a crashed image
 * as §9 says — replaying the journal into memory — and lists every file with
 * its content through that replay (test/rawformat-recovery.test.ts), with
 * zstd frames decoded by the `zstd-napi` package.
 */
import crypto from 'node:crypto'
import fs from 'node:fs'
import {crc32} from 'crc'
import {decompress as zstdDecompress} from 'zstd-napi'

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
    for (const [lo, hi] of [
      [0, 8],
      [12, 16],
      [24, 1024],
    ])
      if (!p.subarray(lo, hi).equals(q.subarray(lo, hi)))
        r.problems.push(`backup superblock differs from the primary in bytes ${lo}..${hi}`)
    if (this.size !== sb.blockCount * bs)
      r.problems.push(`image file is ${this.size} bytes, superblock says ${sb.blockCount} × ${bs}`)

    for (let i = 0; i < sb.bitmapBlocks; i++) {
      const n = sb.bitmapStart + i
      const b = this.block(bs, n)
      if (b.every((x) => x === 0)) r.verified.uninitialisedBitmap++
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
    if (got !== crc)
      r.problems.push(
        `inode ${ino} extent @${offset} (${storage === 0 ? 'inline' : `block ${block}`}): crc 0x${crc.toString(16)} != recomputed 0x${got.toString(16)}`,
      )
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
        if (got !== crc)
          r.problems.push(
            `inode ${ino} xattr ${name} (block ${block}): crc 0x${crc.toString(16)} != recomputed 0x${got.toString(16)}`,
          )
        else r.xattrs.external++
        o = nameEnd + 12
      } else o = nameEnd + vlen
    }
  }
}

// ---------------------------------------------------------------------------
// Recovery, from docs/FORMAT.md §9 alone: replay the journal into an
// in-memory overlay (writing nothing) and read the tree through it.

/** What an in-memory replay of the journal found (FORMAT.md §9, recovery). */
export interface RawReplay {
  /** Whether needs_recovery was set (otherwise nothing was scanned). */
  needed: boolean
  /** Committed transactions replayed. */
  applied: number
  /** Sequence of a transaction discarded at the end of the log (torn), if any. */
  discarded?: number
  /** Data blocks listed by replayed transactions that fail their CRC. */
  damaged: number[]
  /** Home block → its newest logged copy. */
  overlay: Map<number, Buffer>
  treeRoot: number
  treeHeight: number
  /** Where the next transaction would start, and its sequence. */
  head: number
  seq: number
}

export interface RawEntry {
  type: 'file' | 'dir' | 'symlink' | 'chardev' | 'blockdev' | 'fifo' | 'socket'
  size: number
  /** SHA-256 of the content (files and symlinks). */
  sha256?: string
}

const TYPES: Record<number, RawEntry['type']> = {
  0o100000: 'file',
  0o040000: 'dir',
  0o120000: 'symlink',
  0o020000: 'chardev',
  0o060000: 'blockdev',
  0o010000: 'fifo',
  0o140000: 'socket',
}

export class RawRecovery {
  readonly sb: RawSuper
  readonly bs: number
  replayed?: RawReplay
  constructor(readonly img: RawImage) {
    this.sb = img.superblock()
    this.bs = this.sb.blockSize
  }

  /** A metadata block as it is on disk, checked as §3 says; undefined when it does not verify. */
  private verified(n: number, type: number): Buffer | undefined {
    const b = this.img.block(this.bs, n)
    if (
      b.readUInt32LE(0) !== MAGIC ||
      b.readUInt32LE(8) !== headerCrc(b) ||
      b.readBigUInt64LE(16) !== BigInt(n) ||
      !b.subarray(24, 40).equals(this.sb.uuid) ||
      b.readUInt16LE(4) !== type
    )
      return undefined
    return b
  }

  /** §9 recovery, in memory. */
  replay(): RawReplay {
    const {bs, sb} = this
    const p0 = this.img.bytes(0, 1024)
    const needed = (p0.readUInt32LE(88) & 2) !== 0 // incompat bit 1, needs_recovery
    const r: RawReplay = {
      needed,
      applied: 0,
      damaged: [],
      overlay: new Map(),
      treeRoot: sb.treeRoot,
      treeHeight: sb.treeHeight,
      head: u64(p0, 224),
      seq: u64(p0, 216),
    }
    this.replayed = r
    const J = sb.journalBlocks
    if (!needed || J === 0) return r
    const abs = (pos: number) => sb.journalStart + (pos % J)
    const limit = r.head + J
    const cap = Math.floor((bs - 64) / 12)
    let pos = r.head
    let seq = r.seq
    type Tx = {
      seq: number
      payloads: Array<[number, Buffer]>
      checks: Map<number, number>
      root: number
      height: number
      end: number
    }
    const txs: Tx[] = []
    let endedByTorn = false
    for (;;) {
      if (pos >= limit) break
      const d0 = this.verified(abs(pos), 5)
      if (!d0 || u64(d0, 48) !== seq) break
      const tx: Tx = {seq, payloads: [], checks: new Map(), root: 0, height: 0, end: 0}
      let p = pos
      let d: Buffer = d0
      let committed = false
      for (;;) {
        const count = d.readUInt32LE(56)
        const data = (d.readUInt32LE(60) & 1) !== 0
        if (count > cap || p + 1 + (data ? 0 : count) >= limit) break
        const entries: Array<[number, number]> = []
        for (let i = 0; i < count; i++) entries.push([u64(d, 64 + i * 12), d.readUInt32LE(64 + i * 12 + 8)])
        p++
        let torn = false
        if (data) for (const [b, c] of entries) tx.checks.set(b, c)
        else
          for (const [b, c] of entries) {
            const payload = this.img.block(bs, abs(p))
            if (crc32(payload) >>> 0 !== c || b >= sb.blockCount) {
              torn = true
              break
            }
            tx.payloads.push([b, payload])
            p++
          }
        if (torn) break
        const c = this.verified(abs(p), 6)
        if (c && u64(c, 48) === seq) {
          tx.root = u64(c, 64)
          tx.height = c.readUInt32LE(72)
          committed = true
          p++
          break
        }
        const next = this.verified(abs(p), 5)
        if (next && u64(next, 48) === seq) {
          d = next
          continue
        }
        break
      }
      if (!committed) {
        endedByTorn = true
        break
      }
      tx.end = p
      txs.push(tx)
      pos = p
      seq++
    }
    // data checks (on disk: data is never logged); the last transaction, with nothing after it, a bad
    // data block and none of its home blocks written yet, was never acknowledged
    const damagedOf = (tx: Tx) =>
      [...tx.checks].filter(([b, c]) => crc32(this.img.block(bs, b)) >>> 0 !== c).map(([b]) => b)
    const last = txs[txs.length - 1]
    if (
      last &&
      !endedByTorn &&
      damagedOf(last).length &&
      !last.payloads.some(([b, data]) => this.img.block(bs, b).equals(data))
    ) {
      txs.pop()
      r.discarded = last.seq
    }
    for (const tx of txs) {
      for (const [b, data] of tx.payloads) r.overlay.set(b, data)
      r.treeRoot = tx.root
      r.treeHeight = tx.height
      r.damaged.push(...damagedOf(tx))
      r.head = tx.end % J
      r.seq = tx.seq + 1
      r.applied++
    }
    return r
  }

  /** A metadata block as recovery leaves it. */
  private meta(n: number): Buffer {
    return this.replayed?.overlay.get(n) ?? this.img.block(this.bs, n)
  }

  /** Every path (relative to the root, '/' for it) with its type, size and content hash, read through the replay. */
  listing(): Map<string, RawEntry> {
    const r = this.replayed ?? this.replay()
    const {bs} = this
    const items: Array<{objectid: number; type: number; offset: number; value: Buffer}> = []
    const walk = (n: number, level: number, depth: number) => {
      if (depth > 16) throw new Error('tree deeper than 16')
      const b = this.meta(n)
      if (b.readUInt32LE(0) !== MAGIC || b.readUInt32LE(8) !== headerCrc(b))
        throw new Error(`tree block ${n} does not verify`)
      const nitems = b.readUInt32LE(HEADER)
      for (let i = 0; i < nitems; i++) {
        const at = HEADER + 8 + i * ITEM
        if (level > 0) walk(u64(b, at + KEY), level - 1, depth + 1)
        else {
          const vo = b.readUInt32LE(at + KEY)
          items.push({
            objectid: u64(b, at),
            type: b[at + 8]!,
            offset: u64(b, at + 9),
            value: Buffer.from(b.subarray(vo, vo + b.readUInt32LE(at + KEY + 4))),
          })
        }
      }
    }
    walk(r.treeRoot, r.treeHeight - 1, 0)
    const inodes = new Map<number, {mode: number; size: number}>()
    const dirents = new Map<number, Array<{ino: number; name: Buffer}>>()
    const extents = new Map<number, Array<{offset: number; v: Buffer}>>()
    const packs = new Map<number, Buffer>()
    for (const it of items) {
      if (it.type === 1) inodes.set(it.objectid, {mode: it.value.readUInt32LE(0), size: u64(it.value, 16)})
      else if (it.type === 2) {
        const list = dirents.get(it.objectid) ?? []
        for (let o = 0; o < it.value.length;) {
          const len = it.value[o + 9]!
          list.push({ino: u64(it.value, o), name: Buffer.from(it.value.subarray(o + 10, o + 10 + len))})
          o += 10 + len
        }
        dirents.set(it.objectid, list)
      } else if (it.type === 3) {
        const list = extents.get(it.objectid) ?? []
        list.push({offset: it.offset, v: it.value})
        extents.set(it.objectid, list)
      } else if (it.type === 6) packs.set(it.objectid, it.value)
    }
    const unzip = (data: Buffer, compression: number, length: number): Buffer => {
      if (compression === 0) return data
      const out = zstdDecompress(data)
      if (out.length !== length) throw new Error(`zstd data decompresses to ${out.length}, not ${length}`)
      return out
    }
    const content = (ino: number, size: number): Buffer => {
      const out = Buffer.alloc(size)
      for (const {offset, v} of extents.get(ino) ?? []) {
        const storage = v[0]!
        const compression = v[1]!
        const length = u64(v, 8)
        const block = u64(v, 16)
        const stored = v.readUInt32LE(24)
        let raw: Buffer
        if (storage === 0) raw = unzip(v.subarray(32, 32 + stored), compression, length)
        else if (storage === 1) raw = unzip(this.img.bytes(block * bs, stored), compression, length)
        else {
          const pk = packs.get(block)
          if (!pk) throw new Error(`inode ${ino}: pack ${block} missing`)
          const packRaw = unzip(this.img.bytes(block * bs, pk.readUInt32LE(12)), pk[4]!, pk.readUInt32LE(8))
          raw = packRaw.subarray(stored, stored + length)
        }
        raw.copy(out, offset, 0, Math.min(raw.length, size - offset))
      }
      return out
    }
    const result = new Map<string, RawEntry>()
    const visit = (ino: number, p: string, depth: number) => {
      const inode = inodes.get(ino)
      if (!inode || depth > 4096) throw new Error(`${p}: inode ${ino} missing`)
      const type = TYPES[inode.mode & 0o170000]!
      const e: RawEntry = {type, size: inode.size}
      if (type === 'file' || type === 'symlink')
        e.sha256 = crypto.createHash('sha256').update(content(ino, inode.size)).digest('hex')
      result.set(p, e)
      if (type === 'dir')
        for (const d of dirents.get(ino) ?? [])
          visit(d.ino, `${p === '/' ? '' : p}/${d.name.toString('hex')}`, depth + 1)
    }
    visit(1, '/', 0)
    return result
  }
}
