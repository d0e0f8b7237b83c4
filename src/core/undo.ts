/**
 * The undo log: a device wrapper that, before the first write to a block,
 * appends the block's old content to an undo file and makes it durable.
 * `applyUndo` writes those contents back, restoring the image byte for byte.
 * fsck --repair runs on it, so a repair can always be rolled back.
 *
 * File: 64-byte header (`RZUNDO01`, u32 block size, u32 reserved, u64 image
 * size, 16-byte image UUID, reserved), then records of (u64 block, u32 CRC32
 * of the old content, u32 reserved, old content).
 */
import fs from 'node:fs'
import type {BlockDevice} from './device.js'
import {fail} from './errors.js'
import {crc32} from './format/checksum.js'
import {readU64, writeU64} from './format/codec.js'

const MAGIC = Buffer.from('RZUNDO01')
const HEADER = 64
const RECORD_HEAD = 16

export class UndoDevice implements BlockDevice {
  private readonly saved = new Set<number>()
  private readonly fd: number
  private pending = false
  private offset = HEADER
  /** Blocks recorded so far. */
  records = 0

  constructor(
    private readonly inner: BlockDevice,
    private readonly blockSize: number,
    readonly undoPath: string,
    uuid: Buffer,
  ) {
    this.fd = fs.openSync(undoPath, 'w')
    const h = Buffer.alloc(HEADER)
    MAGIC.copy(h, 0)
    h.writeUInt32LE(blockSize, 8)
    writeU64(h, 16, inner.size)
    uuid.copy(h, 24)
    fs.writeSync(this.fd, h, 0, HEADER, 0)
    fs.fsyncSync(this.fd)
  }

  get size(): number {
    return this.inner.size
  }
  read(pos: number, length: number): Buffer {
    return this.inner.read(pos, length)
  }
  write(pos: number, data: Buffer): void {
    const bs = this.blockSize
    for (let b = Math.floor(pos / bs); b * bs < pos + data.length; b++) {
      if (this.saved.has(b)) continue
      this.saved.add(b)
      const old = this.inner.read(b * bs, bs)
      const rec = Buffer.alloc(RECORD_HEAD)
      writeU64(rec, 0, b)
      rec.writeUInt32LE(crc32(old), 8)
      const record = Buffer.concat([rec, old])
      fs.writeSync(this.fd, record, 0, record.length, this.offset)
      this.offset += record.length
      this.records++
      this.pending = true
    }
    if (this.pending) {
      fs.fsyncSync(this.fd) // the old content is safe before it is overwritten
      this.pending = false
    }
    this.inner.write(pos, data)
  }
  flush(): void {
    this.inner.flush()
  }
  resize(size: number): void {
    this.inner.resize(size)
  }
  close(): void {
    fs.closeSync(this.fd)
    this.inner.close()
  }
}

export interface UndoResult {
  blocks: number
  imageSize: number
}

/** Write the old contents recorded in `undoPath` back into the image at `imagePath`. */
export function applyUndo(undoPath: string, imagePath: string): UndoResult {
  const buf = fs.readFileSync(undoPath)
  if (buf.length < HEADER || !buf.subarray(0, 8).equals(MAGIC)) throw fail('EINVAL', `${undoPath} is not a razorfs undo file`, {path: undoPath})
  const bs = buf.readUInt32LE(8)
  const size = readU64(buf, 16)
  const fd = fs.openSync(imagePath, 'r+')
  const done = new Set<number>()
  try {
    let o = HEADER
    while (o + RECORD_HEAD + bs <= buf.length) {
      const block = readU64(buf, o)
      const data = buf.subarray(o + RECORD_HEAD, o + RECORD_HEAD + bs)
      if (crc32(data) !== buf.readUInt32LE(o + 8)) throw fail('ECHECKSUM', `${undoPath}: record for block ${block} is damaged; nothing after it was applied`, {block})
      if (!done.has(block)) {
        fs.writeSync(fd, data, 0, bs, block * bs)
        done.add(block)
      }
      o += RECORD_HEAD + bs
    }
    fs.ftruncateSync(fd, size)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  return {blocks: done.size, imageSize: size}
}
