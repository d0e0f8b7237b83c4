/**
 * The block allocator over the free-space bitmap (FORMAT.md §5). Bitmap blocks
 * are loaded on demand and written back by the Image's flush. Allocation is
 * next-fit from a cursor, so sequentially written data lands contiguously.
 */
import type {BlockDevice} from '../io/device.js'
import {BITMAP_DATA_OFFSET, bitsPerBitmapBlock} from '../format/bitmap.js'
import {BlockType, sealBlock, verifyBlock} from '../format/header.js'
import {isFixedBlock, type Geometry} from '../format/geometry.js'
import {fail} from '../errors.js'

export interface Run {
  start: number
  count: number
}

export class Allocator {
  private readonly bits: number
  private readonly maps = new Map<number, Buffer>()
  private readonly dirty = new Set<number>()
  private cursor: number
  /**
   * With a journal, freed blocks are quarantined: those freed by the running
   * transaction until it commits and is checkpointed, those freed by
   * committed transactions until the next checkpoint. Reusing them earlier
   * could let a rolled-back or replayed transaction see them overwritten.
   */
  journaled = false
  private freedRunning = new Set<number>()
  private freedCommitted = new Set<number>()
  /** Called when space runs out while committed frees wait for a checkpoint. */
  onPressure?: () => void

  constructor(
    private readonly dev: BlockDevice,
    private geo: Geometry,
    private readonly uuid: Buffer,
    public freeBlocks: number,
  ) {
    this.bits = bitsPerBitmapBlock(geo.blockSize)
    this.cursor = geo.firstFree
  }

  /** A bitmap for a new image: every covering block initialised, fixed blocks marked. */
  static format(dev: BlockDevice, geo: Geometry, uuid: Buffer): Allocator {
    const a = new Allocator(dev, geo, uuid, 0)
    let used = 0
    for (let b = 0; b < geo.firstFree; b++) {
      a.setBit(b, true)
      used++
    }
    a.setBit(geo.backupSuperblock, true)
    used++
    a.freeBlocks = geo.blockCount - used
    return a
  }

  /**
   * An allocator that ignores the bitmap on the device: every block free but
   * the fixed ones, every bitmap block dirty (fsck rebuilds the bitmap).
   */
  static fresh<T extends Allocator>(
    this: new (dev: BlockDevice, geo: Geometry, uuid: Buffer, freeBlocks: number) => T,
    dev: BlockDevice,
    geo: Geometry,
    uuid: Buffer,
  ): T {
    const a = new this(dev, geo, uuid, 0)
    for (let i = 0; i < geo.bitmapBlocks; i++) {
      const m = Buffer.alloc(geo.blockSize)
      a.initFresh(i, m)
      a.maps.set(i, m)
      a.dirty.add(i)
    }
    let used = 0
    for (let b = 0; b < geo.blockCount; b++) if (isFixedBlock(geo, b)) used++
    a.freeBlocks = geo.blockCount - used
    return a
  }

  private blockOfMap(i: number): number {
    return this.geo.bitmapStart + i
  }

  private map(i: number): Buffer {
    let m = this.maps.get(i)
    if (m) return m
    const bs = this.geo.blockSize
    const raw = this.dev.read(this.blockOfMap(i) * bs, bs)
    if (raw.every((x) => x === 0)) {
      m = raw
      this.initFresh(i, m)
    } else {
      verifyBlock(raw, {blocknr: this.blockOfMap(i), uuid: this.uuid, type: BlockType.BITMAP})
      m = raw
    }
    this.maps.set(i, m)
    return m
  }

  /** Mark out-of-range and fixed blocks used in a fresh map. */
  private initFresh(i: number, m: Buffer): void {
    const first = i * this.bits
    for (let k = 0; k < this.bits; k++) {
      const b = first + k
      if (b >= this.geo.blockCount || isFixedBlock(this.geo, b)) m[BITMAP_DATA_OFFSET + (k >> 3)]! |= 1 << (k & 7)
    }
  }

  isUsed(b: number): boolean {
    const m = this.map(Math.floor(b / this.bits))
    const k = b % this.bits
    return (m[BITMAP_DATA_OFFSET + (k >> 3)]! & (1 << (k & 7))) !== 0
  }

  private setBit(b: number, used: boolean): void {
    const i = Math.floor(b / this.bits)
    const m = this.map(i)
    const k = b % this.bits
    const at = BITMAP_DATA_OFFSET + (k >> 3)
    if (used) m[at]! |= 1 << (k & 7)
    else m[at]! &= ~(1 << (k & 7))
    this.dirty.add(i)
  }

  private checkRange(start: number, count: number): void {
    if (start < this.geo.firstFree || start + count > this.geo.backupSuperblock || count < 1)
      throw fail('ECORRUPT', `block range ${start}+${count} is outside the data area`, {block: start})
  }

  /** Mark a run used (for mkfs of fixed areas, fsck). */
  markUsed(start: number, count: number): void {
    this.checkRange(start, count)
    for (let b = start; b < start + count; b++) {
      if (!this.isUsed(b)) this.freeBlocks--
      this.setBit(b, true)
    }
  }

  free(start: number, count: number): void {
    this.checkRange(start, count)
    for (let b = start; b < start + count; b++) {
      if (!this.isUsed(b)) throw fail('ECORRUPT', `block ${b} freed twice`, {block: b})
      this.setBit(b, false)
      if (this.journaled) this.freedRunning.add(b)
    }
    this.freeBlocks += count
  }

  /** Blocks free and not quarantined. */
  get available(): number {
    return this.freeBlocks - this.freedRunning.size - this.freedCommitted.size
  }

  private taken(b: number): boolean {
    return this.isUsed(b) || this.freedRunning.has(b) || this.freedCommitted.has(b)
  }

  /** The running transaction committed: its frees wait for the next checkpoint. */
  committed(): void {
    for (const b of this.freedRunning) this.freedCommitted.add(b)
    this.freedRunning.clear()
  }

  /** A checkpoint happened: blocks freed by committed transactions are reusable. */
  checkpointed(): void {
    this.freedCommitted.clear()
  }

  /** The running transaction was abandoned (its changes dropped): forget its frees. */
  abandoned(): void {
    this.freedRunning.clear()
  }

  /**
   * Allocate up to `want` contiguous blocks: the first free run of `want` at or
   * after the cursor (wrapping), else the longest run seen, of at least `min`.
   */
  alloc(want: number, min = 1): Run {
    try {
      return this.tryAlloc(want, min)
    } catch (e) {
      if (!this.freedCommitted.size || !this.onPressure) throw e
      this.onPressure()
      return this.tryAlloc(want, min)
    }
  }

  private tryAlloc(want: number, min: number): Run {
    if (this.available < min) throw this.noSpace(want)
    const lo = this.geo.firstFree
    const hi = this.geo.backupSuperblock
    let best: Run = {start: 0, count: 0}
    const scan = (from: number, to: number): Run | undefined => {
      let b = from
      while (b < to) {
        const k = b % this.bits
        const m = this.map(Math.floor(b / this.bits))
        if ((k & 7) === 0 && m[BITMAP_DATA_OFFSET + (k >> 3)] === 0xff) {
          b += 8
          continue
        }
        if (this.taken(b)) {
          b++
          continue
        }
        let e = b + 1
        while (e < to && e - b < want && !this.taken(e)) e++
        if (e - b >= want) return {start: b, count: want}
        if (e - b > best.count) best = {start: b, count: e - b}
        b = e
      }
      return undefined
    }
    const found = scan(Math.max(lo, this.cursor), hi) ?? scan(lo, Math.min(hi, this.cursor + want))
    const run = found ?? best
    if (run.count < min) throw this.noSpace(want)
    for (let b = run.start; b < run.start + run.count; b++) this.setBit(b, true)
    this.freeBlocks -= run.count
    this.cursor = run.start + run.count
    return run
  }

  private noSpace(want: number) {
    const bs = this.geo.blockSize
    return fail(
      'ENOSPC',
      `no space left in image: needed ${want * bs} bytes contiguous, ${this.available * bs} bytes free`,
      {
        free: this.available * bs,
      },
    )
  }

  /** The highest block in use in the data area (firstFree − 1 when there is none). */
  highestUsed(): number {
    const lo = this.geo.firstFree
    for (let b = this.geo.backupSuperblock - 1; b >= lo;) {
      const k = b % this.bits
      if ((k & 7) === 7 && b - 7 >= lo) {
        const m = this.map(Math.floor(b / this.bits))
        if (m[BITMAP_DATA_OFFSET + (k >> 3)] === 0 && !this.freedRunning.size && !this.freedCommitted.size) {
          b -= 8
          continue
        }
      }
      if (this.taken(b)) return b
      b--
    }
    return lo - 1
  }

  /**
   * Switch to a smaller geometry (Image.fitToContents): every block from the
   * new backup superblock on must be free. Bitmap block i covers the same
   * blocks in both, so only the last one changes (bits past the new end are
   * 1, the new backup superblock is used); those past the new bitmap are
   * dropped (the caller reuses their space).
   */
  shrinkTo(geo: Geometry): void {
    const old = this.geo
    if (
      geo.blockCount > old.blockCount ||
      geo.bitmapStart !== old.bitmapStart ||
      geo.blockSize !== old.blockSize ||
      geo.firstFree > old.firstFree
    )
      throw fail('EINVAL', 'shrinkTo: not a smaller geometry of this bitmap')
    for (let b = geo.backupSuperblock; b < old.backupSuperblock; b++)
      if (this.taken(b)) throw fail('EINVAL', `shrinkTo: block ${b} is in use`, {block: b})
    for (const i of [...this.maps.keys()]) {
      if (i >= geo.bitmapBlocks) {
        this.maps.delete(i)
        this.dirty.delete(i)
      }
    }
    this.geo = geo
    const last = geo.bitmapBlocks - 1
    const m = this.map(last)
    for (let b = geo.backupSuperblock; b < (last + 1) * this.bits; b++) {
      const k = b - last * this.bits
      m[BITMAP_DATA_OFFSET + (k >> 3)]! |= 1 << (k & 7)
    }
    this.dirty.add(last)
    this.freeBlocks -= old.blockCount - geo.blockCount
    // fixed blocks that are fixed no more (a journal-less image's unneeded bitmap blocks) are free data blocks
    for (let b = geo.firstFree; b < old.firstFree; b++) {
      this.setBit(b, false)
      this.freeBlocks++
    }
    this.cursor = Math.min(this.cursor, geo.firstFree)
  }

  /** Encoded dirty bitmap blocks, ready to write; clears the dirty set. */
  takeDirty(generation: number): Array<{block: number; data: Buffer}> {
    const out: Array<{block: number; data: Buffer}> = []
    for (const i of [...this.dirty].sort((a, b) => a - b)) {
      const m = this.maps.get(i)!
      const blk = Buffer.from(m)
      sealBlock(blk, {type: BlockType.BITMAP, level: 0, blocknr: this.blockOfMap(i), uuid: this.uuid, generation})
      out.push({block: this.blockOfMap(i), data: blk})
    }
    this.dirty.clear()
    return out
  }

  get hasDirty(): boolean {
    return this.dirty.size > 0
  }

  get dirtyCount(): number {
    return this.dirty.size
  }
}
