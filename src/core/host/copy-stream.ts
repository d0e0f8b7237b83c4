/**
 * A byte stream (standard input) into a new file of an image, in 1 MiB
 * chunks: memory stays bounded however long the stream is, and all-zero
 * blocks become holes as with any other copy. The file is created with mode
 * 0666 minus the umask and the user's owner, as a shell redirection would.
 */
import {fail} from '../errors.js'
import type {Image} from '../image/image.js'
import {ByteBudget, plainAttrs, PROGRESS_BYTES, type CopyEvent, type CopyOptions} from './copy.js'
import {S_IFREG} from '../types.js'

const CHUNK = 1024 * 1024
const ZERO = Buffer.alloc(CHUNK)

export interface StreamInOptions extends CopyOptions {
  srcLabel?: Buffer
  dstLabel?: Buffer
}

export async function* copyStreamIn(
  img: Image,
  dir: number,
  name: Buffer,
  source: AsyncIterable<Buffer | string>,
  opts: StreamInOptions = {},
): AsyncGenerator<CopyEvent, void> {
  const src = opts.srcLabel ?? Buffer.from('-')
  const dst = opts.dstLabel ?? name
  const clobber = opts.clobber ?? 'error'
  const budget = new ByteBudget(opts.limit)
  let createdName = name
  const existing = img.lookup(dir, name)
  if (existing !== undefined) {
    if (img.stat(existing).type === 'dir')
      throw fail('EISDIR', `cannot overwrite directory '${dst}' with non-directory '${src}'`)
    if (clobber === 'skip') {
      yield {kind: 'skipped', src, dst}
      return
    }
    if (clobber === 'error')
      throw fail('EEXIST', `'${dst}' exists; not overwritten (use -f to replace it or -n to skip it)`)
    createdName = Buffer.from(`.razorfs-cp-${process.pid}-${Math.random().toString(36).slice(2)}`)
  }
  let created: number | undefined = img.create(dir, createdName, plainAttrs(S_IFREG | 0o666, 0, opts, img.stat(dir)))
  const ino = created
  try {
    const buf = Buffer.allocUnsafe(CHUNK)
    let fill = 0
    let off = 0
    let since = 0
    const put = () => {
      const chunk = buf.subarray(0, fill)
      if (!chunk.equals(ZERO.subarray(0, fill))) {
        budget.take(fill, src.toString())
        img.write(ino, off, Buffer.from(chunk))
      }
      off += fill
      since += fill
      fill = 0
    }
    for await (const part of source) {
      const b = typeof part === 'string' ? Buffer.from(part) : part
      for (let i = 0; i < b.length;) {
        const n = Math.min(CHUNK - fill, b.length - i)
        b.copy(buf, fill, i, i + n)
        fill += n
        i += n
        if (fill === CHUNK) put()
      }
      if (since >= PROGRESS_BYTES) {
        yield {kind: 'progress', bytes: since, src}
        since = 0
      }
    }
    if (fill) put()
    if (img.stat(ino).size !== off) img.truncate(ino, off)
    if (createdName !== name) img.rename(dir, createdName, dir, name)
    created = undefined
    yield {kind: 'entry', type: 'file', src, dst, bytes: off}
  } finally {
    if (created !== undefined) {
      try {
        img.unlink(dir, createdName)
      } catch {
        // report the first error
      }
    }
  }
}
