/**
 * The end of an inode's life: dropping a link, freeing an inode with its
 * data and attributes, orphans (FORMAT.md §7: unlinked while held open, or
 * too large to free in one transaction) freed in steps, hold()/release() of
 * open files, and settle() which runs between operations.
 */
import {extentKey, MAX_FILE_SIZE} from '../fs/extents.js'
import {freeData, truncateData} from '../fs/file-data.js'
import {inodeKey, setTime, writeInode} from '../fs/inode-table.js'
import {addOrphan, isOrphan, listOrphans, removeOrphan} from '../fs/orphans.js'
import {freeXattrs} from '../fs/xattrs.js'
import type {InodeRecord} from '../format/inode.js'
import {S_IFMT, S_IFREG, type Timespec} from '../types.js'
import type {ImageState} from './state.js'
import {commit, commitIfLarge} from './transaction.js'

/** Remove the inode's data, attributes and record. */
export function destroy(s: ImageState, ino: number, rec: InodeRecord): void {
  s.prealloc.forget(ino)
  freeData(s.v, ino, rec)
  freeXattrs(s.v, ino, rec)
  s.v.tree.delete(inodeKey(ino))
  s.v.sb.inodeCount--
}

/** One name of `ino` is gone: free it if that was the last and nothing holds it, else keep it (an orphan at nlink 0). */
export function dropLink(s: ImageState, ino: number, t: Timespec): void {
  const rec = s.inode(ino)
  rec.nlink--
  setTime(rec, 'ctime', t)
  if (rec.nlink === 0 && !s.holds.has(ino) && !bigData(s, rec)) destroy(s, ino, rec)
  else if (rec.nlink === 0 && !s.holds.has(ino)) {
    // too much data to free in the operation's transaction: orphan it now, free it in steps once the operation is done
    writeInode(s.v, ino, rec)
    addOrphan(s.v, ino)
    s.toFree.add(ino)
  } else {
    writeInode(s.v, ino, rec)
    if (rec.nlink === 0) addOrphan(s.v, ino)
  }
}

/**
 * Keep an inode alive while it is open (FUSE open files): if its last name
 * is removed meanwhile it becomes an orphan (FORMAT.md §7, ORPHAN items), still
 * readable and writable, and is freed by the last release() — or, after a
 * crash, by the next read-write open. Holds are counted.
 */
export function hold(s: ImageState, ino: number): void {
  s.inode(ino)
  s.holds.set(ino, (s.holds.get(ino) ?? 0) + 1)
}

/** Drop one hold(); the last one frees the inode if it has no name left. */
export function release(s: ImageState, ino: number): void {
  const n = s.holds.get(ino)
  if (!n) return
  if (n > 1) {
    s.holds.set(ino, n - 1)
    return
  }
  s.holds.delete(ino)
  if (s.readOnly || s.closed || !isOrphan(s.v, ino)) return
  if (s.inode(ino).nlink === 0) destroyInSteps(s, ino)
  removeOrphan(s.v, ino)
  settle(s)
}

/** Whether freeing a file's data may not fit in one transaction (more than a cluster of it). */
function bigData(s: ImageState, rec: InodeRecord): boolean {
  return !!s.journal && (rec.mode & S_IFMT) === S_IFREG && rec.size > s.v.geo.clusterSize
}

/**
 * Free an inode whose data may be too large for one transaction: the data
 * is cut from the end first (shrinkInSteps), then the inode goes. The
 * caller has it on the orphan list, so a crash in between frees the rest
 * at the next read-write open.
 */
function destroyInSteps(s: ImageState, ino: number): void {
  shrinkInSteps(s, ino, 0)
  destroy(s, ino, s.inode(ino))
}

/**
 * Cut a file's data down to `size` from the end, one cluster window at a
 * time, committing whenever the running transaction gets large, so that
 * no transaction outgrows the journal. Every committed state is the file
 * cut at a cluster boundary, its data below intact (FORMAT.md §9). The
 * last piece, down to `size` itself, is left to the caller's own change.
 */
export function shrinkInSteps(s: ImageState, ino: number, size: number): void {
  if (!s.journal) return
  const cs = s.v.geo.clusterSize
  const windows: number[] = []
  for (const [k] of s.v.tree.range(extentKey(ino, size), extentKey(ino, MAX_FILE_SIZE))) {
    const w = Math.floor(k.offset / cs) * cs
    if (w > size && windows[windows.length - 1] !== w) windows.push(w)
  }
  for (let i = windows.length - 1; i >= 0; i--) {
    const w = windows[i]!
    s.modify(ino, (rec) => {
      if (rec.size > w) truncateData(s.v, ino, rec, w)
    })
    commitIfLarge(s)
  }
}

/** Between operations: free what an unlink left on the orphan list to free in steps, and commit once the running transaction is large. */
export function settle(s: ImageState): void {
  for (const ino of s.toFree) {
    s.toFree.delete(ino)
    if (!s.holds.has(ino) && isOrphan(s.v, ino) && s.inode(ino).nlink === 0) {
      destroyInSteps(s, ino)
      removeOrphan(s.v, ino)
    }
  }
  commitIfLarge(s)
}

/** Free the orphans a crash left (at a read-write open); returns how many inodes were freed. */
export function reapOrphans(s: ImageState): number {
  let freed = 0
  for (const ino of listOrphans(s.v)) {
    const raw = s.v.tree.get(inodeKey(ino))
    if (raw) {
      const rec = s.inode(ino)
      if (rec.nlink === 0) {
        destroyInSteps(s, ino)
        freed++
      }
    }
    removeOrphan(s.v, ino)
  }
  if (freed || s.store.dirtyCount) commit(s)
  return freed
}
