/**
 * Write-back buffering for the mount. Image.write is copy-on-write per
 * cluster: every call rewrites (and recompresses) each cluster it touches. The
 * kernel sends writes of at most 1 MiB (often 4 KiB: small writes, mmap
 * write-back), so writing each one straight through would rewrite the same
 * cluster many times. Instead the dirty bytes of each inode are kept in
 * cluster-sized buffers and written with one Image.write per run of
 * consecutive clusters when:
 * - the inode's buffers pass a bound (the partial cluster at the end stays);
 * - all buffers together pass a bound (the largest inode goes first);
 * - anything else touches the inode (read, truncate, setattr, fsync, close),
 *   or the periodic commit runs.
 * A failed write keeps the buffers, so a later fsync or close reports it again.
 */
import type {Image, Timespec} from '../core/index.js'

interface Cluster {
  buf: Buffer
  /** Dirty byte ranges within the cluster, sorted and disjoint: [start, end). */
  ranges: Array<[number, number]>
}

interface Dirty {
  clusters: Map<number, Cluster>
  /** End of the furthest dirty byte. */
  end: number
  /** When the last write arrived (the file's mtime once written). */
  time: Timespec
}

export interface WriteBackLimits {
  /** Bytes of buffers per inode before it is written out. */
  perFile: number
  /** Bytes of buffers in all before the largest inode is written out. */
  total: number
}

export const DEFAULT_LIMITS: WriteBackLimits = {perFile: 8 << 20, total: 64 << 20}

export function wallClock(): Timespec {
  const ms = Date.now()
  return {sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1_000_000}
}

function addRange(ranges: Array<[number, number]>, s: number, e: number): void {
  const out: Array<[number, number]> = []
  let placed = false
  for (const r of ranges) {
    if (r[1] < s) out.push(r)
    else if (r[0] > e) {
      if (!placed) {
        out.push([s, e])
        placed = true
      }
      out.push(r)
    } else {
      s = Math.min(s, r[0])
      e = Math.max(e, r[1])
    }
  }
  if (!placed) out.push([s, e])
  out.sort((a, b) => a[0] - b[0])
  ranges.length = 0
  ranges.push(...out)
}

export class WriteBack {
  private readonly dirty = new Map<number, Dirty>()
  private buffered = 0
  private readonly cs: number

  constructor(
    private readonly img: Image,
    private readonly limits: WriteBackLimits = DEFAULT_LIMITS,
  ) {
    this.cs = img.info().clusterSize
  }

  /** Bytes held in buffers. */
  get bytes(): number {
    return this.buffered
  }

  has(ino: number): boolean {
    return this.dirty.has(ino)
  }

  /** Size and mtime as they will be once the buffers are written. */
  overlay(ino: number): {end: number; time: Timespec} | undefined {
    const d = this.dirty.get(ino)
    return d && {end: d.end, time: d.time}
  }

  write(ino: number, offset: number, data: Buffer): void {
    const cs = this.cs
    // near a full image write through: ENOSPC then reaches this write(2), and a failed write leaves nothing buffered
    // (another inode's buffers that cannot be written stay for its own fsync or close: not this write's failure)
    if (
      this.buffered + data.length + 8 * cs > this.freeBytes() &&
      this.buffered + data.length + 8 * cs > this.freeBytes(true)
    ) {
      this.flush(ino)
      for (const other of [...this.dirty.keys()]) {
        try {
          this.flush(other)
        } catch {
          // that inode's buffers stay for its own fsync or close (see above)
        }
      }
      this.img.write(ino, offset, data)
      return
    }
    let d = this.dirty.get(ino)
    if (!d) {
      d = {clusters: new Map(), end: 0, time: wallClock()}
      this.dirty.set(ino, d)
    }
    let pos = 0
    while (pos < data.length) {
      const abs = offset + pos
      const idx = Math.floor(abs / cs)
      const within = abs - idx * cs
      const n = Math.min(data.length - pos, cs - within)
      let c = d.clusters.get(idx)
      if (!c) {
        c = {buf: Buffer.alloc(cs), ranges: []}
        d.clusters.set(idx, c)
        this.buffered += cs
      }
      data.copy(c.buf, within, pos, pos + n)
      addRange(c.ranges, within, within + n)
      pos += n
    }
    d.end = Math.max(d.end, offset + data.length)
    d.time = wallClock()
    if (d.clusters.size * cs >= this.limits.perFile) this.flush(ino, true)
    while (this.buffered > this.limits.total) {
      let worst: number | undefined
      let most = 0
      for (const [i, x] of this.dirty) {
        if (x.clusters.size > most) {
          most = x.clusters.size
          worst = i
        }
      }
      if (worst === undefined) break
      this.flush(worst)
    }
  }

  private free = 0
  private freeAt = 0

  /** Free bytes in the image, looked up at most every second (or now, with `fresh`). */
  private freeBytes(fresh = false): number {
    const now = Date.now()
    if (fresh || now - this.freeAt > 1000) {
      const i = this.img.info()
      this.free = i.freeBlocks * i.blockSize
      this.freeAt = now
    }
    return this.free
  }

  /** Forget an inode's buffers (it was freed). */
  discard(ino: number): void {
    const d = this.dirty.get(ino)
    if (!d) return
    this.buffered -= d.clusters.size * this.cs
    this.dirty.delete(ino)
  }

  /**
   * Write an inode's buffers into the image. With `keepTail`, a partly
   * written last cluster stays buffered (the next sequential write fills it).
   */
  flush(ino: number, keepTail = false): void {
    const d = this.dirty.get(ino)
    if (!d) return
    const cs = this.cs
    const idxs = [...d.clusters.keys()].sort((a, b) => a - b)
    let keep: number | undefined
    if (keepTail && idxs.length > 1) {
      const last = idxs[idxs.length - 1]!
      const c = d.clusters.get(last)!
      if (!(c.ranges.length === 1 && c.ranges[0]![0] === 0 && c.ranges[0]![1] === cs)) keep = last
    }
    const todo = keep === undefined ? idxs : idxs.slice(0, -1)
    const size = Math.max(this.img.stat(ino).size, d.end)
    const time = d.time
    for (let i = 0; i < todo.length;) {
      let j = i + 1
      while (j < todo.length && todo[j] === todo[j - 1]! + 1) j++
      const start = todo[i]! * cs
      const end = Math.min((todo[j - 1]! + 1) * cs, size)
      const parts: Buffer[] = []
      for (let k = i; k < j; k++) {
        const idx = todo[k]!
        const c = d.clusters.get(idx)!
        const cStart = idx * cs
        const len = Math.min(cs, end - cStart)
        const covered = c.ranges.length === 1 && c.ranges[0]![0] === 0 && c.ranges[0]![1] >= len
        if (covered) parts.push(c.buf.subarray(0, len))
        else {
          // merge the dirty ranges over what the image holds
          const merged = Buffer.alloc(len)
          this.img.read(ino, cStart, len).copy(merged)
          for (const [s, e] of c.ranges) c.buf.copy(merged, s, s, Math.min(e, len))
          parts.push(merged)
        }
      }
      this.img.write(ino, start, parts.length === 1 ? parts[0]! : Buffer.concat(parts))
      for (let k = i; k < j; k++) {
        d.clusters.delete(todo[k]!)
        this.buffered -= cs
      }
      i = j
    }
    if (d.clusters.size === 0) {
      this.dirty.delete(ino)
      // the file's times are those of the last write, not of this flush
      this.img.setattr(ino, {mtime: time, ctime: time})
    }
  }

  /** Flush every inode; the first failure is thrown after trying them all. */
  flushAll(): void {
    let err: unknown
    for (const ino of [...this.dirty.keys()]) {
      try {
        this.flush(ino)
      } catch (e) {
        err ??= e
      }
    }
    if (err) throw err
  }
}
