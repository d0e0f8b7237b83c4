/**
 * Batches data-block writes: contiguous writes become one pwrite, so copying a
 * large file costs one syscall per few MiB instead of one per block.
 */
import type {BlockDevice} from './device.js'
import {crc32} from '../format/checksum.js'

const BATCH_LIMIT = 8 * 1024 * 1024
/** Padding source: at most a block (64 KiB) is ever needed. */
const ZERO = Buffer.alloc(65536)
/** Up to this many data blocks per transaction are listed with their CRC in the journal (one fsync per commit). */
export const DATA_CHECK_LIMIT = 256

export class DataWriter {
  private start = 0
  private parts: Buffer[] = []
  private bytes = 0
  /** Whether data blocks were written since the last commit (they must be durable before it). */
  wroteData = false
  /** CRC of each data block written since the last commit, while there are few (undefined: too many). */
  checks: Array<{target: number; crc: number}> | undefined = []

  constructor(
    private readonly dev: BlockDevice,
    private readonly blockSize: number,
  ) {}

  /** Forget what the committed transaction wrote. */
  committed(): void {
    this.wroteData = false
    this.checks = []
  }

  /** Write `data` at `pos`, followed by `pad` zero bytes (to the end of its last block). */
  write(pos: number, data: Buffer, pad = 0): void {
    this.wroteData = true
    const bs = this.blockSize
    const total = data.length + pad
    if (this.checks) {
      if (this.checks.length + total / bs > DATA_CHECK_LIMIT) this.checks = undefined
      else
        for (let o = 0; o < total; o += bs) {
          const part = data.subarray(o, o + bs)
          const crc = part.length < bs ? crc32(ZERO.subarray(0, bs - part.length), crc32(part)) : crc32(part)
          this.checks.push({target: (pos + o) / bs, crc})
        }
    }
    if (this.bytes && pos !== this.start + this.bytes) this.drain()
    if (!this.bytes) this.start = pos
    this.parts.push(data)
    if (pad) this.parts.push(ZERO.subarray(0, pad))
    this.bytes += total
    if (this.bytes >= BATCH_LIMIT) this.drain()
  }

  /** Write out what is pending (before any read of data and before metadata). */
  drain(): void {
    if (!this.bytes) return
    if (this.parts.length === 1) this.dev.write(this.start, this.parts[0]!)
    else if (this.dev.writev) this.dev.writev(this.start, this.parts)
    else this.dev.write(this.start, Buffer.concat(this.parts, this.bytes))
    this.parts = []
    this.bytes = 0
  }
}
