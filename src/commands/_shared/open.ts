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

/** How a command reports that it is showing a recovered state (stderr, unless --quiet). */
export type Note = (message: string) => void

/** The line a command prints when the journal needed recovery at open. */
export function recoveryNote(path: string, img: Pick<Image, 'recovery'>, readOnly: boolean): string | undefined {
  const r = img.recovery
  if (!r) return undefined
  const what = `${r.transactions} committed transaction${r.transactions === 1 ? '' : 's'} (${r.blocks} block${r.blocks === 1 ? '' : 's'})`
  const torn = r.discarded ? `; discarded ${r.discarded.state} transaction ${r.discarded.seq}` : ''
  const orphans = r.orphans ? `; freed ${r.orphans} inode${r.orphans === 1 ? '' : 's'} deleted while open` : ''
  return readOnly
    ? `${path} was not closed cleanly: showing it with ${what} from its journal applied in memory${torn}; the image is not changed (replay it with 'razorfs journal replay ${path}')`
    : `${path} was not closed cleanly: replayed ${what} from its journal${torn}${orphans}`
}

/** Open an image read-only, run fn, and close it again (also on error). */
export async function withImage<T>(path: string, fn: (img: Image) => T | Promise<T>, note?: Note): Promise<T> {
  checkImageFile(path)
  const img = Image.open(path, {readOnly: true})
  const line = recoveryNote(path, img, true)
  if (line) note?.(line)
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
