/**
 * mkfs tail packing (FORMAT.md §10, "Packs"): file tails are gathered, in
 * the build's input order, into a buffer of at most one cluster; a full
 * buffer is planned (compressed) on the PlanPool like file data and stored
 * as a pack IN_FLIGHT buffers later, so the workers compress it while the
 * build goes on. Tails that look incompressible (compression.ts's entropy test)
 * fill packs of their own, so they do not keep the others from compressing.
 * Identical tails (SHA-256, then bytes) share one slice.
 *
 * Reproducibility: buffers are sealed and packs stored at points that
 * depend only on the input order, and a plan does not depend on the worker
 * that made it.
 */
import crypto from 'node:crypto'
import {looksIncompressible} from '../fs/compression.js'
import {crc32} from '../format/checksum.js'
import {COMPRESSION_NONE, COMPRESSION_ZSTD} from '../format/extent.js'
import type {PlanSettings} from '../fs/data-plan.js'
import type {Image} from '../image/image.js'
import type {PlanPool} from '../fs/plan-pool.js'
import type {PackSlice} from '../types.js'

interface Pack {
  /** Raw content while not yet stored. */
  raw?: Buffer
  used: number
  slices: PackSlice[]
  ticket?: number
  /** First block once stored (-1: nothing of it was stored). */
  block?: number
}

interface Known {
  pack: Pack
  start: number
  length: number
  crc: number
}

/**
 * Packs sealed but not yet stored (at most 2 MiB of raw tails): a pack's job
 * queues behind the file data read ahead of it, so it is taken back well
 * after it was handed out, and the main thread rarely waits for it.
 */
const IN_FLIGHT = 16

/** Tails of these two kinds fill separate packs, so that compressible ones compress together. */
const COMPRESSIBLE = 0
const INCOMPRESSIBLE = 1

export class Packer {
  private readonly cur: Pack[]
  private readonly inflight: Pack[] = []
  private readonly known = new Map<string, Known>()
  /** Tails packed, slices shared with an earlier identical tail, packs stored. */
  tails = 0
  shared = 0
  packs = 0

  constructor(
    private readonly img: Image,
    private readonly pool: PlanPool,
    private readonly settings: PlanSettings,
    private readonly cs: number,
  ) {
    this.cur = [this.fresh(), this.fresh()]
  }

  private fresh(): Pack {
    return {raw: Buffer.alloc(this.cs), used: 0, slices: []}
  }

  /** The tail `data` of `ino` at `offset` (already written as a hole up to its size) goes into a pack. */
  add(ino: number, offset: number, data: Buffer): void {
    this.tails++
    const digest = crypto.createHash('sha256').update(data).digest('base64')
    const k = this.known.get(digest)
    if (k && k.length === data.length && this.share(k, ino, offset, data)) {
      this.shared++
      return
    }
    const kind = looksIncompressible(data) ? INCOMPRESSIBLE : COMPRESSIBLE
    if (this.cur[kind]!.used + data.length > this.cs) this.seal(kind)
    const p = this.cur[kind]!
    const slice: PackSlice = {ino, offset, start: p.used, length: data.length, crc: crc32(data)}
    data.copy(p.raw!, p.used)
    p.used += data.length
    p.slices.push(slice)
    this.known.set(digest, {pack: p, start: slice.start, length: slice.length, crc: slice.crc})
  }

  private share(k: Known, ino: number, offset: number, data: Buffer): boolean {
    const slice: PackSlice = {ino, offset, start: k.start, length: k.length, crc: k.crc}
    const p = k.pack
    if (p.block === undefined) {
      if (!p.raw!.subarray(k.start, k.start + k.length).equals(data)) return false
      p.slices.push(slice)
      return true
    }
    return p.block >= 0 && this.img.sharePack(p.block, slice, data)
  }

  /** Hand a buffer to the workers; store the oldest pack in flight beyond IN_FLIGHT. */
  private seal(kind: number): void {
    const p = this.cur[kind]!
    if (p.used === 0) return
    p.raw = p.raw!.subarray(0, p.used)
    p.ticket = this.pool.submit(Buffer.from(p.raw), [{off: 0, len: p.used, atStart: false, pack: true}], this.settings)
    this.inflight.push(p)
    this.cur[kind] = this.fresh()
    while (this.inflight.length > IN_FLIGHT) this.store(this.inflight.shift()!)
  }

  private store(p: Pack): void {
    const run = this.pool.take(p.ticket!).plans[0]!.runs[0]!
    const raw = p.raw!
    const block = run.zstd
      ? this.img.storePack(raw, run.zstd, COMPRESSION_ZSTD, run.zcrc!, p.slices)
      : this.img.storePack(raw, raw, COMPRESSION_NONE, run.crc, p.slices)
    p.block = block ?? -1
    if (block !== undefined) this.packs++
    p.raw = undefined
    p.slices = []
  }

  /** Store everything gathered so far (before the build reads file contents back, and at its end). */
  flush(): void {
    this.seal(COMPRESSIBLE)
    this.seal(INCOMPRESSIBLE)
    while (this.inflight.length) this.store(this.inflight.shift()!)
  }
}
