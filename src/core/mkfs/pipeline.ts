/**
 * The mkfs data path: file contents are read ahead of where the build is,
 * cut into cluster windows and planned (compressed, checksummed) on a
 * PlanPool's worker threads; when the build reaches a file, it creates the
 * inode and writes the planned windows, in input order. So the image gets
 * exactly the sequence of operations a build without workers would make —
 * tree items inserted in order, each file's blocks together — while the
 * workers compress what comes next.
 *
 * Reproducibility: plans do not depend on the thread that made them, and
 * what is written when depends only on the input order, never on which
 * worker finishes first or how many there are (or on how far ahead the
 * callers read).
 */
import fs from 'node:fs'
import type {Image} from '../image/image.js'
import {isZero, planWindow, type PlanSettings, type WindowPlan} from '../fs/data-plan.js'
import type {PlanPool} from '../fs/plan-pool.js'
import {Packer} from './packer.js'

/** Bytes of content gathered into one worker job. */
const JOB_BYTES = 1024 * 1024
/** How far callers read ahead of what is written (a constant, whatever the worker count). */
export const AHEAD_BYTES = 32 * 1024 * 1024

interface Job {
  ticket?: number
  content: Buffer
  used: number
  windows: Array<{off: number; len: number; atStart: boolean}>
  settings: PlanSettings
  result?: {content: Buffer; plans: WindowPlan[]}
  /** Files with windows in it not yet written or dropped. */
  refs: number
}

interface Segment {
  job: Job
  /** Windows of the job, [first, first + count), consecutive in the file. */
  first: number
  count: number
  /** File offset of the first window. */
  offset: number
}

/** A file's content, read and queued for planning; write it with writeFile or release it with dropFile. */
export interface FileHandle {
  /** Bytes of content. */
  size: number
  settings: PlanSettings
  segments: Segment[]
  done?: boolean
}

interface OpenFile extends FileHandle {
  /** Bytes of the window being filled (in the pipeline's scratch window). */
  winLen: number
  /** The last full window was all zeros and skipped (so the end of file is not queued yet). */
  tailSkipped: boolean
}

export class DataPipeline {
  private readonly cs: number
  private job?: Job
  private file?: OpenFile
  private zero?: Buffer
  /** The window being filled: jobs get exactly the bytes of each window, so small files share them. */
  private readonly win: Buffer
  /** Bytes read into handles not yet written or dropped. */
  pendingBytes = 0
  /** Windows written to the image. */
  windows = 0
  /** Tail packing (FORMAT.md §10), when on. */
  readonly packer?: Packer

  constructor(
    private readonly img: Image,
    private readonly pool: PlanPool,
    /** How new files' data is planned (the image's compression). */
    readonly settings: PlanSettings,
    /** Pack file tails together (mkfs). */
    pack = false,
  ) {
    this.cs = img.info().clusterSize
    this.win = Buffer.allocUnsafe(this.cs)
    if (pack) this.packer = new Packer(img, pool, settings, this.cs)
  }

  /** Store the tails gathered so far (before reading back what was written, and at the end). */
  flushPacks(): void {
    this.packer?.flush()
  }

  /** A file's last window goes into a pack: a partial cluster with no all-zero block. */
  private packable(data: Buffer, at: number, size: number): boolean {
    if (!this.packer || data.length >= this.cs || at + data.length !== size || data.length === 0) return false
    const bs = this.settings.blockSize
    for (let b = 0; b < data.length; b += bs) if (isZero(data.subarray(b, Math.min(data.length, b + bs)))) return false
    return true
  }

  /** Start reading a file's content. */
  begin(): void {
    if (this.file) throw new Error('DataPipeline: a file is already open')
    this.file = {size: 0, settings: this.settings, segments: [], winLen: 0, tailSkipped: false}
  }

  /** More bytes of the open file. */
  push(data: Buffer): void {
    const f = this.open()
    let at = 0
    while (at < data.length) {
      const n = Math.min(this.cs - f.winLen, data.length - at)
      data.copy(this.win, f.winLen, at, at + n)
      f.winLen += n
      at += n
      if (f.winLen === this.cs) this.place(f, false, this.win)
    }
  }

  /** Read the open file's content from `fd`, from offset 0 to the end (instead of push()). */
  readFd(fd: number, hash?: {update(data: Buffer): unknown}): void {
    const f = this.open()
    if (f.winLen || f.size) throw new Error('DataPipeline: readFd after push')
    for (;;) {
      let n = 0
      while (n < this.cs) {
        const r = fs.readSync(fd, this.win, n, this.cs - n, f.size + n)
        if (r === 0) break
        n += r
      }
      if (n === 0) break
      const data = this.win.subarray(0, n)
      hash?.update(data)
      this.place(f, n < this.cs, data)
      if (n < this.cs) break
    }
  }

  /** The open file is complete. */
  end(): FileHandle {
    const f = this.open()
    if (f.winLen > 0) this.place(f, true, this.win.subarray(0, f.winLen))
    else if (f.tailSkipped) {
      // the file ends with an all-zero cluster: queue that (empty) window so the size comes out right
      f.size -= this.cs
      this.place(f, true, (this.zero ??= Buffer.alloc(this.cs)))
    }
    this.file = undefined
    const h: FileHandle = {size: f.size, settings: f.settings, segments: f.segments}
    this.pendingBytes += h.size
    return h
  }

  /** Forget the open file (it could not be read). */
  abort(): void {
    const f = this.file
    if (!f) return
    this.file = undefined
    for (const s of f.segments) this.unref(s.job)
  }

  /**
   * Write a file's content into the new, empty regular file `ino`: its
   * windows as planned (waiting for the workers if needed). Times are not
   * changed. Returns the size.
   */
  writeFile(h: FileHandle, ino: number): number {
    if (h.done) throw new Error('DataPipeline: file written twice')
    h.done = true
    this.pendingBytes -= h.size
    const settings = this.img.planSettings(ino)
    const replan = !sameSettings(settings, h.settings)
    for (const seg of h.segments) {
      const job = seg.job
      if (job === this.job) this.submit()
      job.result ??= this.pool.take(job.ticket!)
      const {content, plans} = job.result
      const base = job.windows[seg.first]!.off
      for (let i = seg.first; i < seg.first + seg.count; i++) {
        const w = job.windows[i]!
        const data = content.subarray(w.off, w.off + w.len)
        const at = seg.offset + (w.off - base)
        if (!replan && this.packable(data, at, h.size)) {
          // the size now, the bytes (a hole until then) when the pack is stored
          this.img.writePrepared(ino, at, data, {length: data.length, runs: []})
          this.packer!.add(ino, at, data)
        } else this.img.writePrepared(ino, at, data, replan ? planWindow(data, at === 0, settings) : plans[i]!)
        this.windows++
      }
      this.unref(job)
    }
    return h.size
  }

  /** Release a file's content without writing it. */
  dropFile(h: FileHandle): void {
    if (h.done) return
    h.done = true
    this.pendingBytes -= h.size
    for (const s of h.segments) this.unref(s.job)
  }

  private open(): OpenFile {
    if (!this.file) throw new Error('DataPipeline: no open file')
    return this.file
  }

  private unref(job: Job): void {
    if (--job.refs > 0) return
    if (job === this.job)
      this.job = undefined // nothing in it is wanted
    else if (job.ticket !== undefined && !job.result) job.result = this.pool.take(job.ticket) // collect it from the worker
    job.result = undefined
  }

  /** The job being filled, with room for `len` more bytes of the file's settings. */
  private room(f: OpenFile, len: number): Job {
    let job = this.job
    if (job && (job.used + len > job.content.length || !sameSettings(job.settings, f.settings))) {
      this.submit()
      job = undefined
    }
    return (job ??= this.job =
      {
        content: Buffer.allocUnsafeSlow(Math.max(JOB_BYTES, this.cs)),
        used: 0,
        windows: [],
        settings: f.settings,
        refs: 0,
      })
  }

  /**
   * One complete window of the open file, copied into the job being filled:
   * all-zero windows are skipped unless they end the file (they set its size).
   */
  private place(f: OpenFile, last: boolean, content: Buffer): void {
    const len = content.length
    const offset = f.size
    f.size += len
    f.winLen = 0
    f.tailSkipped = !last && isZero(content)
    if (f.tailSkipped) return
    const job = this.room(f, len)
    content.copy(job.content, job.used)
    job.windows.push({off: job.used, len, atStart: offset === 0})
    job.used += len
    const tail = f.segments[f.segments.length - 1]
    if (
      tail &&
      tail.job === job &&
      tail.first + tail.count === job.windows.length - 1 &&
      tail.offset + this.span(tail) === offset
    )
      tail.count++
    else {
      job.refs++
      f.segments.push({job, first: job.windows.length - 1, count: 1, offset})
    }
  }

  private span(seg: Segment): number {
    let n = 0
    for (let i = 0; i < seg.count; i++) n += seg.job.windows[seg.first + i]!.len
    return n
  }

  /** Hand the job being filled to the workers. */
  private submit(): void {
    const job = this.job
    if (!job) return
    this.job = undefined
    const content = job.used === job.content.length ? job.content : job.content.subarray(0, job.used)
    job.ticket = this.pool.submit(content, job.windows, job.settings)
  }
}

function sameSettings(a: PlanSettings, b: PlanSettings): boolean {
  return a.blockSize === b.blockSize && a.compress === b.compress && a.level === b.level
}
