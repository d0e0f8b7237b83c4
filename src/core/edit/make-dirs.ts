/**
 * mkdir -p inside an image: each component of a path in turn, created when
 * missing (one journaled operation each), followed when it is a directory or
 * a symbolic link to one. New directories get the creator's uid and gid,
 * or a set-group-ID parent's group and bit (fs/new-entry.ts).
 */
import type {Image} from '../image/image.js'
import {isRazorError} from '../errors.js'
import {newEntryAttrs, type Creator} from '../fs/new-entry.js'
import {S_IFDIR} from '../types.js'

const ROOT_INO = 1

export interface MakeDirsOptions {
  /** Permissions of the last directory (default 0o755). */
  mode?: number
  /** Permissions of the missing parents (default 0o755). */
  parentMode?: number
  /** Owner of new directories (default 0:0). */
  creator?: Creator
  /** Called after each directory is created; `path` is the path up to it, as written. */
  onCreated?: (e: {ino: number; path: string}) => void
}

export interface MakeDirsResult {
  /** The last directory (undefined when `failure` is set). */
  ino?: number
  /** Directories created, in order. */
  created: number
  /** Why it stopped: the path up to the component that failed, and the error code. */
  failure?: {path: string; code: string}
}

/**
 * mkdir -p `path` (relative paths start at the root). A component that exists and is not a directory fails:
 * EEXIST for the last, ENOTDIR before it; so does a mkdir the core refuses (its code). Errors
 * reading the image are thrown.
 */
export function makeDirs(img: Image, path: string, opts: MakeDirsOptions = {}): MakeDirsResult {
  const creator = opts.creator ?? {uid: 0, gid: 0}
  const attrs = (dir: number, mode: number) => {
    const a = newEntryAttrs(img.stat(dir), creator, S_IFDIR | mode)
    return {uid: a.uid, gid: a.gid, mode: a.mode & 0o7777}
  }
  const result: MakeDirsResult = {created: 0}
  const parts = path.split('/').filter((p) => p !== '')
  let dir = ROOT_INO
  let sofar = ''
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!
    sofar += (sofar || path.startsWith('/') ? '/' : '') + part
    const last = i === parts.length - 1
    if (part === '.') continue
    if (part === '..') {
      dir = img.stat(dir).parent
      continue
    }
    let ino = img.lookup(dir, part)
    if (ino === undefined) {
      try {
        ino = img.mkdir(dir, part, attrs(dir, last ? (opts.mode ?? 0o755) : (opts.parentMode ?? 0o755)))
      } catch (e) {
        if (isRazorError(e)) return {...result, failure: {path: sofar, code: e.code}}
        throw e
      }
      result.created++
      opts.onCreated?.({ino, path: sofar})
    } else {
      const st = img.stat(ino)
      if (st.type === 'symlink') ino = img.resolve('/' + parts.slice(0, i + 1).join('/'), {follow: true})
      if (img.stat(ino).type !== 'dir') return {...result, failure: {path: sofar, code: last ? 'EEXIST' : 'ENOTDIR'}}
    }
    dir = ino
  }
  return {...result, ino: dir}
}
