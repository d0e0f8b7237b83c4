/**
 * The orphan list (FORMAT.md §6, item type ORPHAN): inodes whose last name
 * was removed while they were still open. Such an inode keeps its data until
 * it is closed; its ORPHAN item `(0, ORPHAN, ino)` records that it must be
 * freed, so that a crash before the close frees it at the next read-write
 * open instead of leaving an unreachable inode behind.
 */
import {ItemType, type Key} from '../format/keys.js'
import type {Volume} from './volume.js'

export const orphanKey = (ino: number): Key => ({objectid: 0, type: ItemType.ORPHAN, offset: ino})

const EMPTY = Buffer.alloc(0)

export function addOrphan(v: Volume, ino: number): void {
  v.tree.put(orphanKey(ino), EMPTY)
}

export function removeOrphan(v: Volume, ino: number): void {
  v.tree.delete(orphanKey(ino))
}

export function isOrphan(v: Volume, ino: number): boolean {
  return v.tree.get(orphanKey(ino)) !== undefined
}

/** Inode numbers on the orphan list, in order. */
export function listOrphans(v: Volume): number[] {
  const out: number[] = []
  for (const [k] of v.tree.range(orphanKey(0), {objectid: 0, type: ItemType.ORPHAN + 1, offset: 0})) out.push(k.offset)
  return out
}
