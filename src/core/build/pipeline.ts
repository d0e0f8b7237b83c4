/**
 * The mkfs data path: file contents are cut into cluster windows, planned
 * (compressed, checksummed) on a PlanPool's worker threads, and written into
 * the image later, in the order they were added. Meanwhile the caller goes on
 * walking the source and creating inodes.
 *
 * Reproducibility: when a window is written depends only on byte counts
 * (a fixed in-flight budget), never on which worker finishes first or how
 * many there are, so the same input always gives the same sequence of image
 * operations and the same image.
 */
import type {Image} from '../image.js'
import type {PlanSettings, WindowPlan} from '../data-plan.js'
import {isZero} from '../data-plan.js'
import {PlanPool} from '../plan-pool.js'

/** Bytes of content gathered into one worker job. */
const JOB_BYTES = 1024 * 1024
/** Content read but not yet written to the image: a constant, whatever the worker count. */
export const IN_FLIGHT_BYTES = 32 * 1024 * 1024

interface Job {
  ticket?: number
  content: Buffer
  used: number
  windows: Array<{off: number; len: number; atStart: boolean}>
  settings: PlanSettings
  result?: {content: Buffer; plans: WindowPlan[]}
  /** Segments still to apply from it. */
  refs: number
}

interface Segment {
  ino: number
  job: Job
  /** Windows of the job, [first, first + count). */
  first: number
  count: number
  /** File offset of the first window. */
  offset: number
  /** Dropped (the file could not be read): nothing is written. */
  cancelled?: boolean
}

interface OpenFile {
  ino: number
  settings: PlanSettings
  /** Bytes accepted so far (file offset of the next byte). */
  pos: number
  /** The window being filled. */
  win: Buffer
  winLen: number
  segments: Segment[]
  /** The last full window was all zeros and skipped (so the end of file is not written yet). */
  tailSkipped: boolean
}

export class DataPipeline {
  private readonly cs: number
  private readonly queue: Segment[] = []
  private inFlight = 0
  private job?: Job
  private file?: OpenFile
  /** Windows written to the image. */
  windows = 0

  constructor(
    private readonly img: Image,
    private readonly pool: PlanPool,
  ) {
    this.cs = img.info().clusterSize
  }

  /** Start the content of a new, empty regular file. */
  begin(ino: number): void {
    if (this.file) throw new Error('DataPipeline: a file is already open')
    this.file = {ino, settings: this.img.planSettings(ino), pos: 0, win: Buffer.allocUnsafe(this.cs), winLen: 0, segments: [], tailSkipped: false}
  }

  /** More bytes of the open file. */
  push(data: Buffer): void {
    const f = this.file
    if (!f) throw new Error('DataPipeline: no open file')
    let at = 0
    while (at < data.length) {
      const n = Math.min(this.cs - f.winLen, data.length - at)
      data.copy(f.win, f.winLen, at, at + n)
      f.winLen += n
      at += n
      if (f.winLen === this.cs) this.window(f, false)
    }
  }

  /** The open file is complete; returns its size. */
  end(): number {
    const f = this.file
    if (!f) throw new Error('DataPipeline: no open file')
    if (f.winLen > 0) this.window(f, true)
    else if (f.tailSkipped) {
      // the file ends with an all-zero cluster: store that (empty) window so the size is right
      f.pos -= this.cs
      f.win.fill(0)
      f.winLen = this.cs
      this.window(f, true)
    }
    this.file = undefined
    return f.pos
  }

  /** Forget the open file's content (it could not be read): nothing of it is written. */
  abort(): void {
    const f = this.file
    if (!f) return
    for (const s of f.segments) s.cancelled = true
    this.file = undefined
  }

  /** An inode is being deleted: drop its queued content. */
  forget(ino: number): void {
    if (this.file?.ino === ino) throw new Error('DataPipeline: forget of the open file')
    for (const s of this.queue) if (s.ino === ino) s.cancelled = true
  }

  /** One complete window of the open file: zero windows are skipped unless they end the file (its size). */
  private window(f: OpenFile, last: boolean): void {
    const len = f.winLen
    const offset = f.pos
    f.pos += len
    f.winLen = 0
    const content = f.win.subarray(0, len)
    f.tailSkipped = !last && isZero(content)
    if (f.tailSkipped) return
    let job = this.job
    if (job && (job.used + len > job.content.length || !sameSettings(job.settings, f.settings))) {
      this.submit()
      job = undefined
    }
    if (!job) {
      job = this.job = {content: Buffer.allocUnsafeSlow(JOB_BYTES), used: 0, windows: [], settings: f.settings, refs: 0}
    }
    content.copy(job.content, job.used)
    job.windows.push({off: job.used, len, atStart: offset === 0})
    job.used += len
    this.inFlight += len
    const tail = f.segments[f.segments.length - 1]
    if (tail && tail.job === job && tail.offset + this.span(tail) === offset) tail.count++
    else {
      const seg: Segment = {ino: f.ino, job, first: job.windows.length - 1, count: 1, offset}
      job.refs++
      f.segments.push(seg)
      this.queue.push(seg)
    }
    if (this.inFlight > IN_FLIGHT_BYTES) this.applyOldest()
  }

  private span(seg: Segment): number {
    let n = 0
    for (let i = 0; i < seg.count; i++) n += seg.job.windows[seg.first + i]!.len
    return n
  }

  private submit(): void {
    const job = this.job
    if (!job) return
    this.job = undefined
    const content = job.used === job.content.length ? job.content : job.content.subarray(0, job.used)
    job.ticket = this.pool.submit(content, job.windows, job.settings)
  }

  /** Write the oldest queued segments until the budget is met again. */
  private applyOldest(): void {
    while (this.inFlight > IN_FLIGHT_BYTES / 2 && this.queue.length) this.applyOne()
  }

  private applyOne(): void {
    const seg = this.queue.shift()!
    const job = seg.job
    if (job === this.job) this.submit()
    job.result ??= this.pool.take(job.ticket!)
    const {content, plans} = job.result
    for (let i = seg.first; i < seg.first + seg.count; i++) {
      const w = job.windows[i]!
      this.inFlight -= w.len
      if (seg.cancelled) continue
      const at = seg.offset + (w.off - job.windows[seg.first]!.off)
      this.img.writePrepared(seg.ino, at, content.subarray(w.off, w.off + w.len), plans[i]!)
      this.windows++
    }
    if (--job.refs === 0) job.result = undefined
  }

  /** Write everything queued (before the image is used otherwise: read, closed, checked). */
  drain(): void {
    if (this.file) throw new Error('DataPipeline: drain with a file open')
    while (this.queue.length) this.applyOne()
  }
}

function sameSettings(a: PlanSettings, b: PlanSettings): boolean {
  return a.blockSize === b.blockSize && a.compress === b.compress && a.level === b.level
}
