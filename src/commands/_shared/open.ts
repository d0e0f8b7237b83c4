/** Opening images for the read-only commands. */
import {statSync} from 'node:fs'
import {describeDamage, Image} from '../../core/index.js'
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
  const hurt = (r.damaged ?? []).filter((d) => d.ino !== undefined)
  const damaged = hurt.length
    ? `; damaged data kept (reads of it fail its checksum): ${hurt.map(describeDamage).join('; ')}`
    : ''
  return readOnly
    ? `${path} was not closed cleanly: showing it with ${what} from its journal applied in memory${torn}${damaged}; the image is not changed (replay it with 'razorfs journal replay ${path}')`
    : `${path} was not closed cleanly: replayed ${what} from its journal${torn}${orphans}${damaged}`
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

/** The identity of a host file (so two spellings of one image share one open). */
function fileKey(path: string): string {
  const st = statSync(path)
  return `${st.dev}:${st.ino}`
}

/**
 * The images a command works on, each opened once: read-write ones take the
 * writer lock (a second writer gets EBUSY) and replay the journal if needed,
 * which is mentioned through `note`. closeAll commits and closes them.
 */
export class ImageSet {
  private readonly opened = new Map<string, {img: Image; path: string}>()

  constructor(private readonly note?: Note) {}

  /** Open `path` (read-write with `writable`; a read-write open also serves reads). */
  get(path: string, writable: boolean): Image {
    checkImageFile(path)
    const key = fileKey(path)
    const have = this.opened.get(key)
    if (have && (have.img.readOnly === false || !writable)) return have.img
    if (have) {
      have.img.close()
      this.opened.delete(key)
    }
    const img = Image.open(path, {readOnly: !writable})
    this.opened.set(key, {img, path})
    const line = recoveryNote(path, img, !writable)
    if (line) this.note?.(line)
    return img
  }

  /** Whether two image paths are the same file. */
  static same(a: string, b: string): boolean {
    try {
      return fileKey(a) === fileKey(b)
    } catch {
      return false
    }
  }

  /** Commit and close every image (all of them, even when one fails; the first error is thrown). */
  closeAll(): void {
    let first: unknown
    for (const {img} of this.opened.values()) {
      try {
        img.close()
      } catch (e) {
        first ??= e
      }
    }
    this.opened.clear()
    if (first) throw first
  }
}
