/**
 * Names to inodes (e2fsprogs' namei): one name in a directory, a whole path
 * with its symbolic links followed, and a directory's entries.
 */
import {fail} from '../errors.js'
import {listEntries, lookupEntry, validName} from '../fs/directory.js'
import {readData} from '../fs/extents.js'
import {ROOT_INO} from '../format/inode.js'
import {S_IFDIR, S_IFLNK, S_IFMT, type DirEntry} from '../types.js'
import type {ImageState} from './state.js'

const MAX_SYMLINKS = 40
const DOT = Buffer.from('.')
const DOTDOT = Buffer.from('..')

export function lookup(s: ImageState, dir: number, name: string | Buffer): number | undefined {
  s.dirInode(dir)
  const n = typeof name === 'string' ? Buffer.from(name, 'utf8') : name
  if (n.equals(DOT)) return dir
  if (n.equals(DOTDOT)) return s.inode(dir).parent
  return lookupEntry(s.v, dir, validName(n))?.ino
}

/**
 * Inode number of a path ('/'-separated, from the root). Symlinks in the
 * middle are followed; a final symlink only with `follow`.
 */
export function resolve(s: ImageState, path: string | Buffer, opts: {follow?: boolean} = {}): number {
  s.assertOpen()
  const p = typeof path === 'string' ? Buffer.from(path, 'utf8') : path
  const shown = p.toString('utf8')
  const queue = splitPath(p)
  let dir = ROOT_INO
  let cur = ROOT_INO
  let links = 0
  while (queue.length) {
    const part = queue.shift()!
    const rec = s.inode(cur)
    if ((rec.mode & S_IFMT) !== S_IFDIR) throw fail('ENOTDIR', `${shown}: not a directory`, {path: shown})
    dir = cur
    let next: number | undefined
    if (part.equals(DOT)) next = cur
    else if (part.equals(DOTDOT)) next = rec.parent
    else {
      if (part.length > 255) throw fail('ENAMETOOLONG', `${shown}: file name too long`, {path: shown})
      next = lookupEntry(s.v, cur, part)?.ino
    }
    if (next === undefined) throw fail('ENOENT', `${shown}: no such file or directory`, {path: shown})
    const nrec = s.inode(next)
    if ((nrec.mode & S_IFMT) === S_IFLNK && (queue.length > 0 || opts.follow)) {
      if (++links > MAX_SYMLINKS) throw fail('ELOOP', `${shown}: too many levels of symbolic links`, {path: shown})
      const target = readData(s.v, next, nrec, 0, nrec.size)
      queue.unshift(...splitPath(target))
      cur = target[0] === 0x2f ? ROOT_INO : dir
      continue
    }
    cur = next
  }
  return cur
}

/** Entries of a directory (not '.' and '..'), in hash order. */
export function readdir(s: ImageState, dir: number): DirEntry[] {
  s.dirInode(dir)
  return listEntries(s.v, dir)
}

/** Split a path into its non-empty components. */
function splitPath(p: Buffer): Buffer[] {
  const out: Buffer[] = []
  let start = 0
  for (let i = 0; i <= p.length; i++) {
    if (i === p.length || p[i] === 0x2f) {
      if (i > start) out.push(p.subarray(start, i))
      start = i + 1
    }
  }
  return out
}
