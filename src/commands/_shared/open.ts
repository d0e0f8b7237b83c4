/** Opening images for the read-only commands. */
import {statSync} from 'node:fs'
import {Image} from '../../core/index.js'
import {HostError, UsageError} from './errors.js'

/** Check that the host path exists and is not a directory, so missing files are host errors (exit 4) naming the path. */
export function checkImageFile(path: string): void {
  if (path === '') throw new UsageError("missing IMAGE before ':'")
  const st = statSync(path)
  if (st.isDirectory()) throw new HostError(path, 'EISDIR', 'is a directory, not an image file')
}

/** Open an image read-only, run fn, and close it again (also on error). */
export async function withImage<T>(path: string, fn: (img: Image) => T | Promise<T>): Promise<T> {
  checkImageFile(path)
  const img = Image.open(path, {readOnly: true})
  let result: T
  try {
    result = await fn(img)
  } catch (error) {
    try {
      img.close()
    } catch {
      // the first error is the one to report
    }
    throw error
  }
  img.close()
  return result
}
