/**
 * The undo log: a device wrapper that, before the first write to a block,
 * appends the block's old content to an undo file and makes it durable.
 * `applyUndo` writes those contents back, restoring the image byte for byte.
 * fsck --repair runs on it, so a repair can always be rolled back.
 *
 * The file's layout is FORMAT.md §14, declared in format/undo.ts.
 */
import fs from 'node:fs'
import type {BlockDevice} from './device.js'
import {fail} from './errors.js'
import {crc32} from './format/checksum.js'
import {decodeOr} from './format/codec.js'
import {UNDO_MAGIC, undoHeader, undoRecordHead} from './format/undo.js'

const HEADER = undoHeader.size
const RECORD_HEAD = undoRecordHead.size

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
    const h = undoHeader.encode({magic: UNDO_MAGIC, blockSize, imageSize: inner.size, uuid})
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
      const rec = undoRecordHead.encode({block: b, crc: crc32(old)})
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
  const notUndo = () => fail('EINVAL', `${undoPath} is not a razorfs undo file`, {path: undoPath})
  if (buf.length < HEADER) throw notUndo()
  const head = decodeOr(undoHeader, buf, notUndo)
  if (!head.magic.equals(UNDO_MAGIC) || head.blockSize < 1024 || head.blockSize > 65536) throw notUndo()
  const bs = head.blockSize
  const size = head.imageSize
  const fd = fs.openSync(imagePath, 'r+')
  const done = new Set<number>()
  try {
    let o = HEADER
    while (o + RECORD_HEAD + bs <= buf.length) {
      const rec = decodeOr(undoRecordHead, buf.subarray(o, o + RECORD_HEAD), () => fail('ECHECKSUM', `${undoPath}: record at byte ${o} is damaged; nothing after it was applied`))
      const {block} = rec
      const data = buf.subarray(o + RECORD_HEAD, o + RECORD_HEAD + bs)
      if (crc32(data) !== rec.crc) throw fail('ECHECKSUM', `${undoPath}: record for block ${block} is damaged; nothing after it was applied`, {block})
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
