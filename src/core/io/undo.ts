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
import {fail} from '../errors.js'
import {crc32} from '../format/checksum.js'
import {decodeOr} from '../format/codec.js'
import {UNDO_MAGIC, UNDO_STATE, undoHeader, undoRecordHead, type UndoHeader} from '../format/undo.js'

const HEADER = undoHeader.size
const RECORD_HEAD = undoRecordHead.size

export class UndoDevice implements BlockDevice {
  private readonly saved = new Set<number>()
  private readonly fd: number
  private pending = false
  private offset = HEADER
  private readonly header: UndoHeader
  /** Blocks recorded so far. */
  records = 0

  constructor(
    private readonly inner: BlockDevice,
    private readonly blockSize: number,
    readonly undoPath: string,
    uuid: Buffer,
  ) {
    this.fd = fs.openSync(undoPath, 'w')
    this.header = {magic: UNDO_MAGIC, blockSize, state: UNDO_STATE.unknown, imageSize: inner.size, uuid, sbCrc: 0}
    this.writeHeader()
  }

  private writeHeader(): void {
    fs.writeSync(this.fd, undoHeader.encode(this.header), 0, HEADER, 0)
    fs.fsyncSync(this.fd)
  }

  /**
   * The repair's own writes begin (the journal is recovered): from now on a
   * crash leaves an image that `interruptedRepair` recognises, by its primary
   * superblock block still being the one read here, and rolls back.
   */
  arm(): void {
    this.header.state = UNDO_STATE.underWay
    this.header.sbCrc = crc32(this.inner.read(0, this.blockSize))
    this.writeHeader()
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

/** Mark the undo file of a repair that ended (completed, or rolled back) so that it is never applied by itself. */
export function endUndo(undoPath: string): void {
  const fd = fs.openSync(undoPath, 'r+')
  try {
    const b = Buffer.alloc(HEADER)
    if (fs.readSync(fd, b, 0, HEADER, 0) < HEADER) return
    const h = undoHeader.decode(b)
    if (!h.magic.equals(UNDO_MAGIC) || h.state === UNDO_STATE.ended) return
    fs.writeSync(fd, undoHeader.encode({...h, state: UNDO_STATE.ended}), 0, HEADER, 0)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

/**
 * Whether `undoPath` is the undo file of a repair of the image at
 * `imagePath` that was interrupted (killed, power cut) after its own writes
 * began and before it switched the superblock: its state is "under way", the
 * UUID is the image's, and the image's primary superblock block is still the
 * one the repair started from (nothing else has opened the image read-write
 * since: every read-write open rewrites it). Such an image may be half
 * rebuilt; applying the file puts it back as it was before the repair.
 */
export function interruptedRepair(undoPath: string, imagePath: string): boolean {
  let fd: number
  try {
    fd = fs.openSync(undoPath, 'r')
  } catch {
    return false
  }
  try {
    const b = Buffer.alloc(HEADER)
    if (fs.readSync(fd, b, 0, HEADER, 0) < HEADER) return false
    const h = undoHeader.decode(b)
    if (!h.magic.equals(UNDO_MAGIC) || h.state !== UNDO_STATE.underWay || h.blockSize < 1024 || h.blockSize > 65536)
      return false
    const img = fs.openSync(imagePath, 'r')
    try {
      const sb = Buffer.alloc(h.blockSize)
      if (fs.readSync(img, sb, 0, h.blockSize, 0) < h.blockSize || crc32(sb) !== h.sbCrc) return false
      // the UUID sits in the superblock; a block-0 CRC match already implies it, but say it plainly
      return sb.includes(h.uuid)
    } finally {
      fs.closeSync(img)
    }
  } finally {
    fs.closeSync(fd)
  }
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
      const rec = decodeOr(undoRecordHead, buf.subarray(o, o + RECORD_HEAD), () =>
        fail('ECHECKSUM', `${undoPath}: record at byte ${o} is damaged; nothing after it was applied`),
      )
      const {block} = rec
      const data = buf.subarray(o + RECORD_HEAD, o + RECORD_HEAD + bs)
      if (crc32(data) !== rec.crc)
        throw fail('ECHECKSUM', `${undoPath}: record for block ${block} is damaged; nothing after it was applied`, {
          block,
        })
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
