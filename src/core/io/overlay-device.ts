/**
 * A read-only view of a device with some blocks replaced: how read-only
 * commands see the recovered state of an image whose journal needs replay,
 * without writing it.
 */
import type {BlockDevice} from './device.js'
import {fail} from '../errors.js'

export class OverlayDevice implements BlockDevice {
  constructor(
    private readonly inner: BlockDevice,
    private readonly blockSize: number,
    private readonly blocks: ReadonlyMap<number, Buffer>,
    /** Report this size instead of the inner one (a truncated image seen at its full size). */
    private readonly sizeOverride?: number,
  ) {}

  get size(): number {
    return this.sizeOverride ?? this.inner.size
  }

  read(pos: number, length: number): Buffer {
    const out = this.inner.read(pos, length)
    const bs = this.blockSize
    for (let b = Math.floor(pos / bs); b * bs < pos + length; b++) {
      const over = this.blocks.get(b)
      if (!over) continue
      const s = Math.max(pos, b * bs)
      const e = Math.min(pos + length, (b + 1) * bs)
      over.copy(out, s - pos, s - b * bs, e - b * bs)
    }
    return out
  }

  write(): void {
    throw fail('EROFS', 'read-only view of an image that needs recovery')
  }
  flush(): void {}
  resize(): void {
    throw fail('EROFS', 'read-only view of an image that needs recovery')
  }
  close(): void {
    this.inner.close()
  }
}
