/**
 * Batches data-block writes: contiguous writes become one pwrite, so copying a
 * large file costs one syscall per few MiB instead of one per block.
 */
import type {BlockDevice} from './device.js'

const BATCH_LIMIT = 8 * 1024 * 1024

export class DataWriter {
  private start = 0
  private parts: Buffer[] = []
  private bytes = 0

  constructor(private readonly dev: BlockDevice) {}

  write(pos: number, data: Buffer): void {
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
