/**
 * The one way a host directory tree is walked: directories depth first, each
 * one before its contents, names in byte order, paths relative to the tree
 * root ('/'-separated bytes) for --exclude, an excluded directory taking its
 * contents along, and one inode per host dev+ino for hard links. populate
 * copies in this order (its Engine uses these helpers), mkfs reads files
 * ahead in it (prefetch.ts) and measures the tree with it (estimate.ts), so
 * all three agree.
 */
import fs from 'node:fs'
import {fileTypeOfMode} from '../fs/inode-table.js'
import type {FileType} from '../types.js'

/** Leave out an entry (and, for a directory, everything below it); `rel` as in WalkEntry. */
export type TreeExclude = (rel: Buffer, type: FileType) => boolean

const SLASH = Buffer.from('/')

/** `dir`/`name`, without doubling a trailing slash of `dir`. */
export function joinPath(dir: Buffer, name: Buffer): Buffer {
  if (dir.length === 0) return Buffer.from(name)
  return dir[dir.length - 1] === 0x2f ? Buffer.concat([dir, name]) : Buffer.concat([dir, SLASH, name])
}

/** The path of `name` relative to the tree root, given its directory's (empty for the root). */
export function childRel(rel: Buffer, name: Buffer): Buffer {
  return rel.length ? Buffer.concat([rel, SLASH, name]) : name
}

/** A directory's names in the walk's order (byte order); throws the host error when it cannot be read. */
export function readNames(dir: Buffer): Buffer[] {
  return fs.readdirSync(dir, {encoding: 'buffer'}).sort(Buffer.compare)
}

/** Which host inode an entry is: names with the same key are hard links to one inode. */
export function inodeKey(st: fs.BigIntStats | fs.Stats): string {
  return `${st.dev}:${st.ino}`
}

export interface WalkEntry {
  /** Host path. */
  path: Buffer
  /** Path relative to the tree root, '/'-separated. */
  rel: Buffer
  name: Buffer
  st: fs.BigIntStats
  type: FileType
  /** A further name of a (non-directory) inode the walk has already met: populate makes it a hard link. */
  link: boolean
}

/**
 * Every entry under `root` (not the root itself), without following
 * symlinks. Parts that cannot be read are skipped: populate, which walks the
 * same way, reports them.
 */
export function* walkTree(root: string | Buffer, exclude?: TreeExclude): Generator<WalkEntry> {
  const seen = new Set<string>()
  function* visit(dir: Buffer, rel: Buffer): Generator<WalkEntry> {
    let names: Buffer[]
    try {
      names = readNames(dir)
    } catch {
      return
    }
    for (const name of names) {
      const path = joinPath(dir, name)
      let st: fs.BigIntStats
      try {
        st = fs.lstatSync(path, {bigint: true})
      } catch {
        continue
      }
      const entryRel = childRel(rel, name)
      const type = fileTypeOfMode(Number(st.mode))
      if (!type || exclude?.(entryRel, type)) continue
      let link = false
      if (type !== 'dir' && st.nlink > 1n) {
        const key = inodeKey(st)
        link = seen.has(key)
        seen.add(key)
      }
      yield {path, rel: entryRel, name, st, type, link}
      if (type === 'dir') yield* visit(path, entryRel)
    }
  }
  yield* visit(typeof root === 'string' ? Buffer.from(root) : root, Buffer.alloc(0))
}
