/**
 * The block device under an Image: positioned reads and writes on a file
 * descriptor. Tests wrap it to record writes, inject faults and simulate
 * crashes (see `RecordingDevice` in the test helpers).
 */
import fs from 'node:fs'
import nodePath from 'node:path'

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

/**
 * TEST SEAM — the device log (test/README.md, "Crash testing of real
 * processes"). When the environment variable `RAZORFS_TEST_DEVICE_LOG` names a
 * file, every FileDevice opened for writing (Image.open read-write, Image.create,
 * fsck's repairs; in any process or worker thread that inherits the variable)
 * appends to that file, with O_APPEND and one write(2) per record:
 *
 *   'O' when opened (payload: the absolute path, pos: the size),
 *   'W' for each write or writev, after the data is written (payload: the bytes, pos: their offset),
 *   'F' for each flush, once fsync(2) has returned (every write to the file logged before it is durable),
 *   'R' for each resize (pos: the new size), 'C' at close.
 *
 * Tests add 'M' (mark) records of their own (payload: a label) at their
 * acknowledgement points, and rebuild the image a crash could leave at any
 * point from a copy of the image before and the log. Each record is a 24-byte
 * little-endian header — u8 kind (ASCII), 3 zero bytes, u32 pid, u32 device
 * (numbered per process from 1; 0 for marks), u32 payload length, u64 pos —
 * and the payload. Unset (always, outside tests), the variable costs one
 * lookup per open and a test of an undefined field per write and flush.
 */
export const DEVICE_LOG_ENV = 'RAZORFS_TEST_DEVICE_LOG'
export const DEVICE_LOG_HEADER = 24

let deviceLogCount = 0

class DeviceLog {
  private readonly fd: number
  private readonly id = ++deviceLogCount

  constructor(file: string, devicePath: string, size: number) {
    this.fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o644)
    this.record('O', size, [Buffer.from(nodePath.resolve(devicePath))])
  }

  record(kind: 'O' | 'W' | 'F' | 'R' | 'C', pos: number, payload: readonly Buffer[] = []): void {
    const h = Buffer.alloc(DEVICE_LOG_HEADER)
    h.write(kind, 0, 'latin1')
    h.writeUInt32LE(process.pid, 4)
    h.writeUInt32LE(this.id, 8)
    let len = 0
    for (const p of payload) len += p.length
    h.writeUInt32LE(len, 12)
    h.writeBigUInt64LE(BigInt(pos), 16)
    const rec = payload.length ? Buffer.concat([h, ...payload]) : h
    let done = 0
    while (done < rec.length) done += fs.writeSync(this.fd, rec, done, rec.length - done)
  }

  close(): void {
    this.record('C', 0)
    fs.closeSync(this.fd)
  }
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
  /** The test seam's log (see DeviceLog); undefined unless RAZORFS_TEST_DEVICE_LOG is set. */
  private readonly log: DeviceLog | undefined

  private constructor(
    fd: number,
    readonly path: string,
    readonly readOnly: boolean,
  ) {
    this.fd = fd
    this._size = fs.fstatSync(fd).size
    const logFile = readOnly ? undefined : process.env[DEVICE_LOG_ENV]
    if (logFile) this.log = new DeviceLog(logFile, path, this._size)
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
    this.writeAt(pos, data)
    this.log?.record('W', pos, [data])
  }

  private writeAt(pos: number, data: Buffer): void {
    let done = 0
    while (done < data.length)
      done += naming(this.path, () => fs.writeSync(this.handle, data, done, data.length - done, pos + done))
    if (pos + data.length > this._size) this._size = pos + data.length
  }

  writev(pos: number, parts: readonly Buffer[]): void {
    let off = pos
    // at most IOV_MAX (1024) buffers per call; a short write is finished with plain writes
    for (let i = 0; i < parts.length;) {
      const batch = parts.slice(i, i + 1024)
      let want = 0
      for (const p of batch) want += p.length
      let n = naming(this.path, () => fs.writevSync(this.handle, batch, off))
      if (n < want) {
        let at = off
        for (const p of batch) {
          if (n >= p.length) n -= p.length
          else {
            this.writeAt(at + n, p.subarray(n))
            n = 0
          }
          at += p.length
        }
      }
      off += want
      i += batch.length
    }
    if (off > this._size) this._size = off
    this.log?.record('W', pos, parts)
  }

  flush(): void {
    naming(this.path, () => fs.fsyncSync(this.handle))
    this.log?.record('F', 0)
  }

  resize(size: number): void {
    naming(this.path, () => fs.ftruncateSync(this.handle, size))
    this._size = size
    this.log?.record('R', size)
  }

  close(): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd)
      this.log?.close()
    }
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
