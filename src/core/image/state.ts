/**
 * The state of one open image that every image/ module works on: the volume
 * (device, geometry, tree, allocator, superblock), the metadata cache, the
 * journal and what the running operation has pending. `Image` (image.ts)
 * owns one and hands it to the functions of open.ts, transaction.ts,
 * namei.ts, namespace.ts, unlinked.ts, file-io.ts, attributes.ts, ...
 */
import {fail} from '../errors.js'
import {Preallocations} from '../fs/prealloc.js'
import {readInode, setTime, writeInode} from '../fs/inode-table.js'
import type {Volume} from '../fs/volume.js'
import type {CommitFields} from '../format/journal.js'
import type {InodeRecord} from '../format/inode.js'
import type {Journal} from '../journal/journal.js'
import type {NodeStore} from '../tree/node-store.js'
import {now, S_IFDIR, S_IFMT, S_IFREG, type Timespec} from '../types.js'
import type {RecoveryReport} from './open.js'

/** Metadata blocks the cache holds by default. */
export const DEFAULT_CACHE_BLOCKS = 8192
/** Blocks kept for tree growth when checking space before an operation. */
export const RESERVE_SLACK = 32

/** The superblock fields a journal commit records. */
export type LiveFields = Omit<CommitFields, 'seq' | 'blocks' | 'flags'>

export class ImageState {
  readonly readOnly: boolean
  closed = false
  journal?: Journal
  committedFields?: LiveFields
  checkpointedSeq = -1
  commits = 0
  releaseLock?: () => void
  /** Inodes unlinked by the running operation whose data settle() frees in steps. */
  readonly toFree = new Set<number>()
  /** Where the times the image records by itself come from (see CreateOptions.clock). */
  clock: () => Timespec = now
  /** Built without journal transactions (CreateOptions.bulk) until closed. */
  bulk = false
  /** Open counts of inodes held with hold() (FUSE open files). */
  readonly holds = new Map<number, number>()
  /** What recovery did when the image was opened (undefined when nothing was needed). */
  recovery?: RecoveryReport
  /** Free blocks held back for preallocated ranges (fallocate), while open. */
  readonly prealloc: Preallocations

  constructor(
    readonly path: string,
    readonly v: Volume,
    readonly store: NodeStore,
  ) {
    this.readOnly = v.readOnly
    const perCluster = v.geo.clusterSize / v.geo.blockSize
    // what write() asks for beyond the data: the windows at both ends and the tree
    this.prealloc = new Preallocations(perCluster, 2 * perCluster + RESERVE_SLACK)
  }

  assertOpen(): void {
    if (this.closed) throw fail('EINVAL', `${this.path}: image is closed`)
  }

  assertWritable(): void {
    this.assertOpen()
    if (this.readOnly) throw fail('EROFS', `${this.path} is open read-only`)
  }

  inode(ino: number): InodeRecord {
    this.assertOpen()
    return readInode(this.v, ino)
  }

  dirInode(ino: number): InodeRecord {
    const rec = this.inode(ino)
    if ((rec.mode & S_IFMT) !== S_IFDIR) throw fail('ENOTDIR', `inode ${ino} is not a directory`, {ino})
    return rec
  }

  regular(ino: number): InodeRecord {
    const rec = this.inode(ino)
    if ((rec.mode & S_IFMT) === S_IFDIR) throw fail('EISDIR', `inode ${ino} is a directory`, {ino})
    if ((rec.mode & S_IFMT) !== S_IFREG) throw fail('EINVAL', `inode ${ino} is not a regular file`, {ino})
    return rec
  }

  /** Read an inode, let `fn` change it, write it back. */
  modify<T>(ino: number, fn: (rec: InodeRecord) => T): T {
    const rec = this.inode(ino)
    const r = fn(rec)
    writeInode(this.v, ino, rec)
    return r
  }

  /** A directory gained (`delta` > 0) or lost entries: size, link count and times. */
  touchDir(dir: number, delta: number, t: Timespec, nlinkDelta = 0): void {
    this.modify(dir, (d) => {
      d.size += delta
      d.nlink += nlinkDelta
      setTime(d, 'mtime', t)
      setTime(d, 'ctime', t)
    })
  }
}
