/**
 * Crash simulation: a device that records every write (split into blocks)
 * and every flush, and the tools to build the image a crash at any point
 * would leave, and to describe an image's whole logical state.
 */
import crypto from 'node:crypto'
import {MemoryDevice, type BlockDevice} from '../../src/core/io/device.js'
import type {Image} from '../../src/core/index.js'

export interface Recorded {
  pos: number
  data: Buffer
  /** Index of the operation during which it was issued. */
  op: number
  /** Flushes completed before it was issued. */
  epoch: number
}

export class RecordingDevice implements BlockDevice {
  readonly writes: Recorded[] = []
  /** writes.length at each completed flush. */
  readonly flushes: number[] = []
  op = 0
  constructor(
    private readonly inner: MemoryDevice,
    private readonly blockSize: number,
  ) {}
  get size(): number {
    return this.inner.size
  }
  read(pos: number, length: number): Buffer {
    return this.inner.read(pos, length)
  }
  write(pos: number, data: Buffer): void {
    this.inner.write(pos, data)
    for (let o = 0; o < data.length; o += this.blockSize)
      this.writes.push({
        pos: pos + o,
        data: Buffer.from(data.subarray(o, Math.min(data.length, o + this.blockSize))),
        op: this.op,
        epoch: this.flushes.length,
      })
  }
  flush(): void {
    this.flushes.push(this.writes.length)
  }
  resize(size: number): void {
    this.inner.resize(size)
  }
  close(): void {}
}

/** The image after applying `writes` (in the order given) to `base`. */
export function crashImage(
  base: Buffer,
  writes: readonly Recorded[],
  torn?: {write: Recorded; bytes: number},
): MemoryDevice {
  const dev = new MemoryDevice(0)
  dev.write(0, base)
  for (const w of writes) dev.write(w.pos, w.data)
  if (torn) dev.write(torn.write.pos, torn.write.data.subarray(0, torn.bytes))
  return dev
}

/** A canonical description of everything a user can observe in an image. */
export function digest(img: Image): string {
  const h = crypto.createHash('sha256')
  const walk = (dir: number, path: string) => {
    const entries = img.readdir(dir).sort((a, b) => Buffer.compare(a.name, b.name))
    for (const e of entries) {
      const p = `${path}/${e.name.toString('hex')}`
      const st = img.stat(e.ino)
      h.update(
        `${p} ${st.type} ${st.mode} ${st.uid} ${st.gid} ${st.nlink} ${st.size} ${st.rdev} ${st.mtime.sec}.${st.mtime.nsec} ${st.ctime.sec}.${st.ctime.nsec} ino=${e.ino}\n`,
      )
      if (st.type === 'file' || st.type === 'symlink')
        h.update(crypto.createHash('sha256').update(img.readFile(e.ino)).digest())
      for (const x of img.listXattrs(e.ino)) h.update(`${x}=${img.getXattr(e.ino, x).toString('hex')}\n`)
      if (st.type === 'dir') walk(e.ino, p)
    }
  }
  const root = img.stat(1)
  h.update(`/ ${root.mode} ${root.uid} ${root.nlink} ${root.size} ${root.mtime.sec}.${root.mtime.nsec}\n`)
  walk(1, '')
  return h.digest('hex')
}
