/** Copying a file out of an image to a stream, chunk by chunk. */
import type {Writable} from 'node:stream'
import type {Image} from '../../core/index.js'

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

/** Write `size` bytes of inode `ino` to `out` in 1 MiB chunks, respecting back-pressure. */
export async function copyOut(img: Image, ino: number, size: number, out: Writable): Promise<void> {
  let failure: NodeJS.ErrnoException | undefined
  const onError = (err: NodeJS.ErrnoException): void => {
    failure = err
  }
  out.on('error', onError)
  try {
    for (let offset = 0; offset < size; offset += CHUNK) {
      const chunk = img.read(ino, offset, Math.min(CHUNK, size - offset))
      if (failure) break
      if (!out.write(chunk)) await drained(out)
      if (failure) break
    }
    if (!failure && out.writableNeedDrain) await drained(out)
  } finally {
    out.off('error', onError)
  }
  if (failure?.code === 'EPIPE') throw new ClosedPipe()
  if (failure) throw failure
}
