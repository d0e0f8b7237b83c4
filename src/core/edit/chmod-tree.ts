/**
 * chmod [-R] inside an image: a compiled mode (chmod-mode.ts) applied to an
 * inode and, recursively, to everything below a directory (names in byte
 * order, depth first from a stack; symbolic links inside are skipped, as
 * chmod -R does). One journaled operation per changed inode.
 */
import type {Image} from '../image/image.js'
import type {FileType} from '../types.js'
import {applyMode, type ModeChanges} from './chmod-mode.js'

export interface ChmodEntry {
  ino: number
  /** `opts.path`, then '/NAME' for each level below it. */
  path: string
  type: FileType
  /** Permission bits before and after. */
  oldMode: number
  mode: number
  /** What the mode would give without the umask: when `mode` has bits it lacks, chmod(1) given '-w' warns. */
  unmasked: number
}

export interface ChmodTreeOptions {
  /** Whether to descend into a directory. */
  recursive?: boolean
  /** The umask that limits a symbolic mode without u, g, o or a (default 0o022). */
  umask?: number
  /** How `ino` is named in `path` (default ''). */
  path?: string
  /** Called for each inode visited, after its change, in the order of visits. */
  onEntry?: (e: ChmodEntry) => void
}

export interface ChmodTreeResult {
  /** Inodes visited. */
  visited: number
  /** Inodes whose mode changed. */
  changed: number
}

/** Apply `changes` to `ino` (a symlink is changed as the inode it is: the caller decides whether to follow one). */
export function chmodTree(img: Image, ino: number, changes: ModeChanges, opts: ChmodTreeOptions = {}): ChmodTreeResult {
  const result: ChmodTreeResult = {visited: 0, changed: 0}
  const umask = opts.umask ?? 0o022
  const change = (i: number, path: string) => {
    const st = img.stat(i)
    const dir = st.type === 'dir'
    const oldMode = st.mode & 0o7777
    const {mode} = applyMode(oldMode, dir, umask, changes)
    if (mode !== oldMode) {
      img.setattr(i, {mode})
      result.changed++
    }
    result.visited++
    const unmasked = applyMode(oldMode, dir, 0, changes).mode
    opts.onEntry?.({ino: i, path, type: st.type, oldMode, mode, unmasked})
  }
  const base = (opts.path ?? '').replace(/\/+$/, '')
  change(ino, opts.path ?? '')
  if (!opts.recursive || img.stat(ino).type !== 'dir') return result
  const stack: Array<{ino: number; path: string}> = [{ino, path: base}]
  while (stack.length) {
    const d = stack.pop()!
    for (const e of img.readdir(d.ino).sort((a, b) => Buffer.compare(a.name, b.name))) {
      if (e.type === 'symlink') continue
      const p = `${d.path}/${e.name.toString()}`
      change(e.ino, p)
      if (e.type === 'dir') stack.push({ino: e.ino, path: p})
    }
  }
  return result
}
