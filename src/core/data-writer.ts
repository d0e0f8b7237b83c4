/**
 * Batches data-block writes: contiguous writes become one pwrite, so copying a
 * large file costs one syscall per few MiB instead of one per block.
 */
import type {BlockDevice} from './device.js'
import {crc32} from './format/checksum.js'

const BATCH_LIMIT = 8 * 1024 * 1024
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

  write(pos: number, data: Buffer): void {
    this.wroteData = true
    if (this.checks) {
      const bs = this.blockSize
      if (this.checks.length + data.length / bs > DATA_CHECK_LIMIT) this.checks = undefined
      else for (let o = 0; o < data.length; o += bs) this.checks.push({target: (pos + o) / bs, crc: crc32(data.subarray(o, o + bs))})
    }
    if (this.bytes && pos !== this.start + this.bytes) this.drain()
    if (!this.bytes) this.start = pos
    this.parts.push(data)
    this.bytes += data.length
    if (this.bytes >= BATCH_LIMIT) this.drain()
  }

  /** Write out what is pending (before any read of data and before metadata). */
  drain(): void {
    if (!this.bytes) return
    this.dev.write(this.start, this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.bytes))
    this.parts = []
    this.bytes = 0
  }
}
