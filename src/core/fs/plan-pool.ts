/**
 * Planning file data (zstd and CRC32, data-plan.ts) on worker threads while
 * the main thread walks the source and writes the image. Jobs are taken
 * back in the order the caller asks for them, and a plan does not depend on
 * which thread made it, so the image does not depend on the number of
 * workers. With 0 workers, jobs are planned on the spot.
 *
 * Everything is synchronous for the caller (populate walks synchronously):
 * `take` blocks on a shared counter (Atomics.wait) and reads results with
 * receiveMessageOnPort, so no event-loop turn is needed.
 */
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {MessageChannel, receiveMessageOnPort, Worker, type MessagePort} from 'node:worker_threads'
import {planJobWindow, type JobWindow, type PlanSettings, type WindowPlan} from './data-plan.js'

export interface PlanJob {
  id: number
  buf: ArrayBuffer
  windows: JobWindow[]
  settings: PlanSettings
}

interface WirePlan {
  length: number
  inline?: {compression: 0 | 1; off: number; len: number; crc: number}
  runs: Array<{offset: number; length: number; crc: number; z?: [number, number, number]}>
}

interface WireResult {
  id: number
  error?: string
  buf: ArrayBuffer
  out: ArrayBuffer
  plans: WirePlan[]
}

/** Plans to a transferable form: their compressed bytes gathered in one buffer. */
export function serializePlans(plans: WindowPlan[]): {out: ArrayBuffer; plans: WirePlan[]} {
  let size = 0
  for (const p of plans) {
    if (p.inline) size += p.inline.stored.length
    for (const r of p.runs) size += r.zstd?.length ?? 0
  }
  const out = new ArrayBuffer(size)
  const view = new Uint8Array(out)
  let at = 0
  const put = (b: Buffer): [number, number] => {
    view.set(b, at)
    at += b.length
    return [at - b.length, b.length]
  }
  const wire = plans.map((p): WirePlan => {
    const w: WirePlan = {length: p.length, runs: []}
    if (p.inline) {
      const [off, len] = put(p.inline.stored)
      w.inline = {compression: p.inline.compression as 0 | 1, off, len, crc: p.inline.crc}
    }
    for (const r of p.runs) {
      const z = r.zstd ? put(r.zstd) : undefined
      w.runs.push({offset: r.offset, length: r.length, crc: r.crc, z: z ? [z[0], z[1], r.zcrc!] : undefined})
    }
    return w
  })
  return {out, plans: wire}
}

function deserializePlans(out: ArrayBuffer, wire: WirePlan[]): WindowPlan[] {
  const b = Buffer.from(out)
  return wire.map((w) => ({
    length: w.length,
    inline: w.inline
      ? {
          compression: w.inline.compression,
          stored: b.subarray(w.inline.off, w.inline.off + w.inline.len),
          crc: w.inline.crc,
        }
      : undefined,
    runs: w.runs.map((r) => ({
      offset: r.offset,
      length: r.length,
      crc: r.crc,
      zstd: r.z ? b.subarray(r.z[0], r.z[0] + r.z[1]) : undefined,
      zcrc: r.z?.[2],
    })),
  }))
}

export interface PlannedJob {
  /** The job's content (the windows, back to back). */
  content: Buffer
  plans: WindowPlan[]
}

interface Slot {
  worker: Worker
  port: MessagePort
  pending: number
}

/** Worker count used by default: one per CPU the process may use. */
export function defaultWorkers(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length
}

function workerScript(): string {
  const here = fileURLToPath(import.meta.url)
  return path.join(path.dirname(here), `plan-worker${path.extname(here)}`)
}

export class PlanPool {
  private readonly slots: Slot[] = []
  private readonly counter = new Int32Array(new SharedArrayBuffer(4))
  private readonly done = new Map<number, PlannedJob>()
  private readonly owner = new Map<number, Slot>()
  private nextId = 1
  private closed = false

  /** `workers` threads (0: plan on the caller's thread). */
  constructor(readonly workers: number) {
    for (let i = 0; i < workers; i++) {
      const {port1, port2} = new MessageChannel()
      const worker = new Worker(workerScript(), {
        workerData: {port: port2, signal: this.counter.buffer},
        transferList: [port2],
      })
      worker.unref()
      this.slots.push({worker, port: port1, pending: 0})
    }
  }

  /**
   * Queue the windows held back to back in `content` (each `len` bytes, from
   * `off`) for planning; returns the ticket to take them back with. The
   * buffer is handed over (transferred) to a worker: do not use it again.
   */
  submit(content: Buffer, windows: PlanJob['windows'], settings: PlanSettings): number {
    const id = this.nextId++
    if (this.slots.length === 0) {
      this.done.set(id, {
        content,
        plans: windows.map((w) => planJobWindow(content.subarray(w.off, w.off + w.len), w, settings)),
      })
      return id
    }
    // an ArrayBuffer of exactly this content, transferred without a copy when we own it whole
    let buf: ArrayBuffer
    if (
      content.byteOffset === 0 &&
      content.byteLength === content.buffer.byteLength &&
      content.buffer instanceof ArrayBuffer
    )
      buf = content.buffer
    else buf = content.buffer.slice(content.byteOffset, content.byteOffset + content.byteLength) as ArrayBuffer
    let slot = this.slots[0]!
    for (const s of this.slots) if (s.pending < slot.pending) slot = s
    slot.pending += content.length + 1
    this.owner.set(id, slot)
    const job: PlanJob = {id, buf, windows, settings}
    slot.port.postMessage(job, [buf])
    return id
  }

  private receive(): boolean {
    let got = false
    for (const s of this.slots) {
      for (let m = receiveMessageOnPort(s.port); m; m = receiveMessageOnPort(s.port)) {
        const r = m.message as WireResult
        if (r.error) throw new Error(`compression worker failed: ${r.error}`)
        const content = Buffer.from(r.buf)
        s.pending -= content.length + 1
        this.owner.delete(r.id)
        this.done.set(r.id, {content, plans: deserializePlans(r.out, r.plans)})
        got = true
      }
    }
    return got
  }

  /** The planned job of a ticket; blocks until a worker has planned it. */
  take(id: number): PlannedJob {
    for (;;) {
      const hit = this.done.get(id)
      if (hit) {
        this.done.delete(id)
        return hit
      }
      const seen = Atomics.load(this.counter, 0)
      if (this.receive()) continue
      if (!this.owner.has(id)) throw new Error(`plan job ${id} was never submitted`)
      Atomics.wait(this.counter, 0, seen, 1000)
    }
  }

  /** Stop the workers. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await Promise.all(this.slots.map((s) => s.worker.terminate()))
  }
}
