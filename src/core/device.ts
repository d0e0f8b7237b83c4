/**
 * The block device under an Image: positioned reads and writes on a file
 * descriptor. Tests wrap it to record writes, inject faults and simulate
 * crashes (see `RecordingDevice` in the test helpers).
 */
import fs from 'node:fs'

export interface BlockDevice {
  /** Size in bytes. */
  readonly size: number
  /** Read `length` bytes at `pos`; bytes past the end read as zeros. */
  read(pos: number, length: number): Buffer
  write(pos: number, data: Buffer): void
  /** Write buffers back to back from `pos` (optional: callers fall back to one write of their concatenation). */
  writev?(pos: number, parts: readonly Buffer[]): void
  /** Make every write so far durable. */
  flush(): void
  /** Set the size (for mkfs: the host file stays sparse). */
  resize(size: number): void
  close(): void
}

/** A host error on the image file names the file (Node leaves `path` out of errors of calls on a descriptor). */
function naming<T>(path: string, fn: () => T): T {
  try {
    return fn()
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    if (err && typeof err.code === 'string' && err.path === undefined) err.path = path
    throw e
  }
}

export class FileDevice implements BlockDevice {
  private fd: number | undefined
  private _size: number

  private constructor(fd: number, readonly path: string, readonly readOnly: boolean) {
    this.fd = fd
    this._size = fs.fstatSync(fd).size
  }

  static open(path: string, readOnly: boolean): FileDevice {
    return new FileDevice(fs.openSync(path, readOnly ? 'r' : 'r+'), path, readOnly)
  }

  /** Create (or truncate to empty, with force) a file for a new image. */
  static create(path: string): FileDevice {
    return new FileDevice(fs.openSync(path, 'w+'), path, false)
  }

  get size(): number {
    return this._size
  }

  private get handle(): number {
    if (this.fd === undefined) throw new Error('device closed')
    return this.fd
  }

  read(pos: number, length: number): Buffer {
    // not zero-filled first: read() overwrites it, and only a tail past the end is zeroed
    const buf = Buffer.allocUnsafe(length)
    let done = 0
    while (done < length) {
      const n = naming(this.path, () => fs.readSync(this.handle, buf, done, length - done, pos + done))
      if (n === 0) break
      done += n
    }
    if (done < length) buf.fill(0, done)
    return buf
  }

  write(pos: number, data: Buffer): void {
    let done = 0
    while (done < data.length) done += naming(this.path, () => fs.writeSync(this.handle, data, done, data.length - done, pos + done))
    if (pos + data.length > this._size) this._size = pos + data.length
  }

  writev(pos: number, parts: readonly Buffer[]): void {
    let off = pos
    // at most IOV_MAX (1024) buffers per call; a short write is finished with plain writes
    for (let i = 0; i < parts.length; ) {
      const batch = parts.slice(i, i + 1024)
      let want = 0
      for (const p of batch) want += p.length
      let n = naming(this.path, () => fs.writevSync(this.handle, batch, off))
      if (n < want) {
        let at = off
        for (const p of batch) {
          if (n >= p.length) n -= p.length
          else {
            this.write(at + n, p.subarray(n))
            n = 0
          }
          at += p.length
        }
      }
      off += want
      i += batch.length
    }
    if (off > this._size) this._size = off
  }

  flush(): void {
    naming(this.path, () => fs.fsyncSync(this.handle))
  }

  resize(size: number): void {
    naming(this.path, () => fs.ftruncateSync(this.handle, size))
    this._size = size
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd)
    this.fd = undefined
  }
}

/** A device held entirely in memory: for tests and for building images before writing them out. */
export class MemoryDevice implements BlockDevice {
  private buf: Buffer
  constructor(size = 0) {
    this.buf = Buffer.alloc(size)
  }
  get size(): number {
    return this.buf.length
  }
  read(pos: number, length: number): Buffer {
    const out = Buffer.alloc(length)
    if (pos < this.buf.length) this.buf.copy(out, 0, pos, Math.min(this.buf.length, pos + length))
    return out
  }
  write(pos: number, data: Buffer): void {
    if (pos + data.length > this.buf.length) this.resize(pos + data.length)
    data.copy(this.buf, pos)
  }
  flush(): void {}
  resize(size: number): void {
    const b = Buffer.alloc(size)
    this.buf.copy(b, 0, 0, Math.min(size, this.buf.length))
    this.buf = b
  }
  close(): void {}
  /** The whole content (tests). */
  contents(): Buffer {
    return this.buf
  }
}
