/** Copying a file out of an image to a stream, chunk by chunk. */
import type {Writable} from 'node:stream'
import {mappedRanges, type Image} from '../../core/index.js'

export const CHUNK = 1024 * 1024

/** Thrown to stop quietly when the reader went away (EPIPE). */
export class ClosedPipe extends Error {}

/** Resolve when `out` drains, fails or closes. */
function drained(out: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      out.off('drain', done)
      out.off('error', done)
      out.off('close', done)
      resolve()
    }
    out.on('drain', done)
    out.on('error', done)
    out.on('close', done)
  })
}

const ZEROS = Buffer.alloc(CHUNK)

/**
 * Bytes of a file that no extent holds (holes), walking its extents batch by
 * batch: bounded memory whatever size the file declares.
 */
export function holeBytes(img: Image, ino: number, size: number): number {
  let mapped = 0
  for (const r of mappedRanges(img, ino, size, {batch: 1024})) mapped += r.length
  return size - mapped
}

/**
 * Write `size` bytes of inode `ino` to `out`, respecting back-pressure: data
 * is read extent by extent (at most 1 MiB at a time) and holes are written
 * from one shared buffer of zeros, so memory stays bounded.
 */
export async function copyOut(img: Image, ino: number, size: number, out: Writable): Promise<void> {
  let failure: NodeJS.ErrnoException | undefined
  const onError = (err: NodeJS.ErrnoException): void => {
    failure = err
  }
  out.on('error', onError)
  const put = async (chunk: Buffer): Promise<void> => {
    if (failure) return
    if (!out.write(chunk)) await drained(out)
  }
  try {
    let pos = 0
    /** Zeros up to `end` (a hole). */
    const zeros = async (end: number): Promise<void> => {
      for (; pos < end && !failure; pos += Math.min(CHUNK, end - pos))
        await put(ZEROS.subarray(0, Math.min(CHUNK, end - pos)))
    }
    for (const r of mappedRanges(img, ino, size)) {
      if (failure) break
      await zeros(r.offset)
      for (const end = r.offset + r.length; pos < end && !failure;) {
        const n = Math.min(CHUNK, end - pos)
        await put(img.read(ino, pos, n))
        pos += n
      }
    }
    await zeros(size)
    if (!failure && out.writableNeedDrain) await drained(out)
  } finally {
    out.off('error', onError)
  }
  if (failure?.code === 'EPIPE') throw new ClosedPipe()
  if (failure) throw failure
}
