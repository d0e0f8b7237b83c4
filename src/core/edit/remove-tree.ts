/**
 * rm -r inside an image: an entry and everything below it, deepest first,
 * one journaled operation per entry (an explicit stack: any depth). What was
 * removed before a failure or a crash stays removed; the image is consistent.
 */
import type {Image} from '../image/image.js'
import {RazorError} from '../errors.js'
import type {FileType} from '../types.js'

export interface RemovedEntry {
  /** Directory the entry was in. */
  dir: number
  name: Buffer
  /** `opts.path`, then '/NAME' for each level below it. */
  path: string
  type: FileType
}

export interface RemoveTreeOptions {
  /** How the starting entry is named in `path` (default: its name). */
  path?: string
  /** Removing everything in the root directory (name undefined) is refused unless this is false. */
  preserveRoot?: boolean
  /** Called after each entry is removed, in the order of removal. */
  onRemoved?: (e: RemovedEntry) => void
}

export interface RemoveTreeResult {
  files: number
  dirs: number
}

/**
 * Remove `name` in `dirIno` and everything below it. With `name` undefined, `dirIno` must be the root: everything
 * in it is removed (the root itself stays), and only with `preserveRoot: false`. '.' and '..' are refused (EINVAL).
 * A missing entry is no error (nothing removed). Other errors are the core's RazorErrors, thrown as they happen.
 */
export function removeTree(
  img: Image,
  dirIno: number,
  name: Buffer | string | undefined,
  opts: RemoveTreeOptions = {},
): RemoveTreeResult {
  const result: RemoveTreeResult = {files: 0, dirs: 0}
  if (name === undefined) {
    if (opts.preserveRoot !== false)
      throw new RazorError('EINVAL', "refusing to remove everything in the image's root without preserveRoot: false")
    const base = (opts.path ?? '').replace(/\/$/, '')
    for (const e of img.readdir(dirIno)) walk(img, dirIno, e.name, `${base}/${e.name.toString()}`, opts, result)
    return result
  }
  const n = typeof name === 'string' ? Buffer.from(name) : name
  if (n.toString() === '.' || n.toString() === '..')
    throw new RazorError('EINVAL', `refusing to remove '.' or '..' directory`)
  walk(img, dirIno, n, opts.path ?? n.toString(), opts, result)
  return result
}

function walk(img: Image, dir: number, name: Buffer, path: string, opts: RemoveTreeOptions, result: RemoveTreeResult) {
  const stack: Array<{dir: number; name: Buffer; path: string; ino: number; expanded: boolean}> = []
  const push = (d: number, n: Buffer, p: string) => {
    const ino = img.lookup(d, n)
    if (ino === undefined) return
    stack.push({dir: d, name: n, path: p, ino, expanded: false})
  }
  push(dir, name, path)
  while (stack.length) {
    const top = stack[stack.length - 1]!
    const st = img.stat(top.ino)
    if (st.type === 'dir' && !top.expanded) {
      top.expanded = true
      for (const e of img.readdir(top.ino)) push(top.ino, e.name, `${top.path}/${e.name.toString()}`)
      continue
    }
    stack.pop()
    if (st.type === 'dir') {
      img.rmdir(top.dir, top.name)
      result.dirs++
    } else {
      img.unlink(top.dir, top.name)
      result.files++
    }
    opts.onRemoved?.({dir: top.dir, name: top.name, path: top.path, type: st.type})
  }
}
