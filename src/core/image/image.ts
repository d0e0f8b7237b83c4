/**
 * The Image: one open RAZORFS image file and every operation on it. It owns
 * the file handle, the metadata cache, the allocator and the superblock; the
 * format work is done by the modules it composes (btree, allocator,
 * file-data, directory, xattrs).
 */
import fs from 'node:fs'
import {Allocator} from '../tree/allocator.js'
import {BTree} from '../tree/btree.js'
import {DataWriter} from '../io/data-writer.js'
import {FileDevice, type BlockDevice} from '../io/device.js'
import {addEntry, isEmptyDir, listEntries, lookupEntry, removeEntry, replaceEntry, validName} from '../fs/directory.js'
import {fail, isRazorError} from '../errors.js'
import {
  allExtents,
  decodeExtent,
  extentInfo,
  extentKey,
  extentsIn,
  freeData,
  MAX_FILE_SIZE,
  planSettings,
  punchData,
  readData,
  truncateData,
  writeData,
  writePlannedWindow,
} from '../fs/file-data.js'
import type {PlanSettings, WindowPlan} from '../fs/data-plan.js'
import {ftypeCode} from '../format/dirent.js'
import {featureNames, hasFeature, withFeature, withoutFeature} from '../format/features.js'
import {COMPRESSION_NONE, COMPRESSION_ZSTD, encodeExtent, STORAGE_BLOCKS, STORAGE_PACKED} from '../format/extent.js'
import {packKey, packRecord} from '../format/pack.js'
import {addPackRef, loadSlice, writePack} from '../fs/packs.js'
import {FIRST_INO, ROOT_INO, type InodeRecord} from '../format/inode.js'
import {bitmapBlocksFor} from '../format/bitmap.js'
import {computeGeometry, MIN_FREE_BLOCKS} from '../format/geometry.js'
import {ItemType, MAX_KEY} from '../format/keys.js'
import {extentRecord} from '../format/extent.js'
import {FORMAT_VERSION, SIGNATURE, STATE_CLEAN, type SuperblockFields} from '../format/superblock.js'
import {fileTypeOfMode, inodeKey, newInode, readInode, setTime, toStat, writeInode} from '../fs/inode-table.js'
import {NodeStore} from '../tree/node-store.js'
import {formatUuid, normalizeCreateOptions, type NormalizedCreate} from './create-options.js'
import {Journal, type MetaBlock, type TxState} from '../journal/journal.js'
import type {CommitFields} from '../format/journal.js'
import {OverlayDevice} from '../io/overlay-device.js'
import {locateDamage, type DamagedBlock, type DamagedData} from './damage.js'
import {Preallocations} from '../fs/prealloc.js'
import {acquireWriterLock} from '../io/lock.js'
import {loadSuperblock, writeSuperblock} from './superblock.js'
import {addOrphan, isOrphan, listOrphans, removeOrphan} from '../fs/orphans.js'
import {getXattrValue, listXattrNames, removeXattrValue, setXattrValue, freeXattrs} from '../fs/xattrs.js'
import {
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  now,
  type CreateOptions,
  type DirEntry,
  type ExtentInfo,
  type ImageStats,
  type InodeAttrs,
  type OpenOptions,
  type PackSlice,
  type Stat,
  type Timespec,
} from '../types.js'
import type {Volume} from '../fs/volume.js'

/** What journal recovery did at open. */
export interface RecoveryReport {
  /** Committed transactions replayed (read-only opens: applied in memory only). */
  transactions: number
  /** Metadata blocks written back. */
  blocks: number
  /** A torn or half-written transaction at the end of the log, discarded. */
  discarded?: {seq: number; state: TxState; reason: string}
  /** Inodes unlinked while open before the crash, freed at this open (read-write opens only). */
  orphans?: number
  /**
   * Data blocks listed by committed transactions that fail their CRC, and
   * what each holds: damaged file data. The transactions were redone all the
   * same (committed work is never undone); the data stays as it is.
   */
  damaged?: DamagedData[]
}

/** A device number the inode record can hold (FORMAT.md: u64 fields below 2^53, so majors below 2^21). */
function storableRdev(rdev: number): number {
  if (!Number.isSafeInteger(rdev) || rdev < 0)
    throw fail(
      'ERANGE',
      `device number ${rdev} cannot be stored: RAZORFS holds device numbers below 2^53 (major below 2^21)`,
    )
  return rdev
}

function applyCommit(sb: SuperblockFields, c: CommitFields): void {
  sb.treeRoot = c.treeRoot
  sb.treeHeight = c.treeHeight
  sb.freeBlocks = c.freeBlocks
  sb.inodeCount = c.inodeCount
  sb.nextIno = c.nextIno
  sb.generation = Math.max(sb.generation, c.generation)
}

export interface FeatureSet {
  compat: string[]
  roCompat: string[]
  incompat: string[]
}

/** What `dump` shows of the superblock, as native values. */
export interface ImageInfo {
  version: number
  uuid: string
  label: string
  blockSize: number
  clusterSize: number
  blocks: number
  freeBlocks: number
  inodeCount: number
  nextIno: number
  state: 'clean' | 'dirty'
  features: FeatureSet
  created: Timespec
  modified: Timespec
  compression: {algorithm: 'none' | 'zstd'; level: number}
  layout: {
    superblock: number
    backupSuperblock: number
    bitmapStart: number
    bitmapBlocks: number
    journalStart: number
    journalBlocks: number
    treeRoot: number
    treeHeight: number
  }
}

const DEFAULT_CACHE_BLOCKS = 8192
const MAX_SYMLINKS = 40
const SYMLINK_MAX = 4095
const NLINK_MAX = 0xffffffff
/** Blocks kept for tree growth when checking space before an operation. */
const RESERVE_SLACK = 32
const FALLOC_FL_KEEP_SIZE = 1
const FALLOC_FL_PUNCH_HOLE = 2
const FALLOC_FL_ZERO_RANGE = 0x10

const asName = (n: string | Buffer): Buffer => validName(typeof n === 'string' ? Buffer.from(n, 'utf8') : n)

export class Image {
  readonly path: string
  readonly readOnly: boolean
  private readonly v: Volume
  private readonly store: NodeStore
  private closed = false
  private journal?: Journal
  private committedFields?: Omit<CommitFields, 'seq' | 'blocks' | 'flags'>
  private checkpointedSeq = -1
  private commits = 0
  private releaseLock?: () => void
  /** Inodes unlinked by the running operation whose data settle() frees in steps. */
  private readonly toFree = new Set<number>()
  /** Where the times the image records by itself come from (see CreateOptions.clock). */
  private clock: () => Timespec = now
  /** Built without journal transactions (CreateOptions.bulk) until closed. */
  private bulk = false
  /** Open counts of inodes held with hold() (FUSE open files). */
  private readonly holds = new Map<number, number>()
  /** What recovery did when the image was opened (undefined when nothing was needed). */
  recovery?: RecoveryReport
  /** Free blocks held back for preallocated ranges (fallocate), while open. */
  private readonly prealloc: Preallocations

  private constructor(path: string, v: Volume, store: NodeStore) {
    this.path = path
    this.v = v
    this.store = store
    this.readOnly = v.readOnly
    const perCluster = v.geo.clusterSize / v.geo.blockSize
    // what write() asks for beyond the data: the windows at both ends and the tree
    this.prealloc = new Preallocations(perCluster, 2 * perCluster + RESERVE_SLACK)
  }

  /** Build the in-memory state over a device whose superblock is loaded. */
  private static assemble(
    path: string,
    dev: BlockDevice,
    sb: SuperblockFields,
    uuid: Buffer,
    geo: Volume['geo'],
    readOnly: boolean,
    cacheBlocks: number,
    alloc?: Allocator,
  ): Image {
    const allocator = alloc ?? new Allocator(dev, geo, uuid, sb.freeBlocks)
    const store = new NodeStore(dev, allocator, geo.blockSize, uuid, geo.blockCount, cacheBlocks)
    const tree = new BTree(store, sb.treeRoot, sb.treeHeight)
    const v: Volume = {dev, geo, uuid, sb, tree, alloc: allocator, data: new DataWriter(dev, geo.blockSize), readOnly}
    return new Image(path, v, store)
  }

  /** Create a new image file and return it open read-write with an empty root directory. */
  static create(path: string, opts: CreateOptions): Image {
    const o = normalizeCreateOptions(opts)
    let existing: fs.Stats | undefined
    try {
      existing = fs.statSync(path)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    }
    if (existing && existing.isFile() && existing.size > 0 && !o.force)
      throw fail('EEXIST', `${path} exists and is not empty; use --force to overwrite it`, {path})
    if (existing && !existing.isFile()) throw fail('EINVAL', `${path} is not a regular file`, {path})
    const release = acquireWriterLock(path)
    let dev: FileDevice | undefined
    try {
      dev = FileDevice.create(path)
      const img = Image.format(path, dev, o, {clock: opts.clock, bulk: opts.bulk})
      img.releaseLock = release
      return img
    } catch (e) {
      try {
        dev?.close()
        // a file this call created is removed again (one that was there, replaced with force, is left empty)
        if (dev && !existing) fs.rmSync(path, {force: true})
      } finally {
        release()
      }
      throw e
    }
  }

  /** Format a device (already sized or resizable) and return the image open read-write. */
  static format(
    path: string,
    dev: BlockDevice,
    o: NormalizedCreate,
    mode: {clock?: () => Timespec; bulk?: boolean} = {},
  ): Image {
    const {geo} = o
    dev.resize(geo.blockCount * geo.blockSize)
    const alloc = Allocator.format(dev, geo, o.uuid)
    let incompat = 0
    if (o.compression.algorithm === 'zstd') incompat = withFeature(incompat, 'zstd')
    const sb: SuperblockFields = {
      signature: SIGNATURE,
      version: FORMAT_VERSION,
      blockSize: geo.blockSize,
      clusterSize: geo.clusterSize,
      state: 0,
      compat: geo.journalBlocks ? withFeature(0, 'journal') : 0,
      roCompat: 0,
      incompat,
      blockCount: geo.blockCount,
      freeBlocks: alloc.freeBlocks,
      inodeCount: 0,
      nextIno: FIRST_INO,
      bitmapStart: geo.bitmapStart,
      bitmapBlocks: geo.bitmapBlocks,
      journalStart: geo.journalStart,
      journalBlocks: geo.journalBlocks,
      treeRoot: 0,
      treeHeight: 1,
      compression: o.compression.algorithm === 'zstd' ? COMPRESSION_ZSTD : COMPRESSION_NONE,
      compressionLevel: o.compression.algorithm === 'zstd' ? o.compression.level : 0,
      createdSec: o.time.sec,
      createdNsec: o.time.nsec,
      modifiedSec: o.time.sec,
      modifiedNsec: o.time.nsec,
      writeCount: 0,
      generation: 1,
      journalSeq: 1,
      journalHead: 0,
      journalFlags: 0,
      label: o.label,
    }
    const store = new NodeStore(dev, alloc, geo.blockSize, o.uuid, geo.blockCount, DEFAULT_CACHE_BLOCKS)
    const tree = BTree.create(store)
    sb.treeRoot = tree.root
    const v: Volume = {
      dev,
      geo,
      uuid: o.uuid,
      sb,
      tree,
      alloc,
      data: new DataWriter(dev, geo.blockSize),
      readOnly: false,
    }
    const root = newInode(S_IFDIR | 0o755, o.time, sb.generation)
    root.nlink = 2
    root.parent = ROOT_INO
    writeInode(v, ROOT_INO, root)
    sb.inodeCount = 1
    const img = new Image(path, v, store)
    if (mode.clock) img.clock = mode.clock
    img.bulk = mode.bulk ?? false
    // the empty filesystem is written directly; from here on every change goes through the journal
    // (in bulk mode: straight home, and the journal is first used by the next read-write open)
    img.writeMetadata()
    img.writeSuper(true)
    dev.flush()
    img.startWriting()
    return img
  }

  /** Open an existing image. Read-only unless `readOnly: false`. */
  static open(path: string, opts: OpenOptions = {}): Image {
    const wantRw = opts.readOnly === false
    const dev = FileDevice.open(path, !wantRw)
    let release: (() => void) | undefined
    try {
      if (wantRw) release = acquireWriterLock(path)
      const img = Image.openDevice(path, dev, opts)
      img.releaseLock = release
      return img
    } catch (e) {
      dev.close()
      release?.()
      throw e
    }
  }

  /** Open an image on any block device (tests wrap devices to record and crash them). */
  static openDevice(name: string, dev: BlockDevice, opts: OpenOptions = {}): Image {
    const {sb, uuid, geo, forceReadOnly} = loadSuperblock(dev, name)
    const readOnly = opts.readOnly !== false || forceReadOnly
    const cache = opts.cacheBlocks ?? DEFAULT_CACHE_BLOCKS
    let recovery: RecoveryReport | undefined
    let damagedBlocks: DamagedBlock[] = []
    let device: BlockDevice = dev
    if (geo.journalBlocks && hasFeature(sb.incompat, 'needs_recovery')) {
      const journal = new Journal(dev, geo, uuid, sb.journalHead, sb.journalSeq)
      const overlay = new Map<number, Buffer>()
      let blocks = 0
      const damaged: DamagedBlock[] = []
      const scan = journal.scan((tx, payloads) => {
        for (const block of tx.damaged ?? []) damaged.push({seq: tx.seq, block})
        for (const p of payloads) {
          if (readOnly) overlay.set(p.block, p.data)
          else dev.write(p.block * geo.blockSize, p.data)
          blocks++
        }
        applyCommit(sb, tx.commit!)
      })
      const committed = scan.transactions.filter((t) => t.state === 'committed')
      const last = scan.transactions[scan.transactions.length - 1]
      recovery = {
        transactions: committed.length,
        blocks,
        discarded:
          last && last.state !== 'committed'
            ? {seq: last.seq, state: last.state, reason: last.reason ?? ''}
            : undefined,
      }
      damagedBlocks = damaged
      sb.journalHead = scan.end
      sb.journalSeq = scan.nextSeq
      if (readOnly) device = new OverlayDevice(dev, geo.blockSize, overlay)
      else dev.flush()
    }
    const img = Image.assemble(name, device, sb, uuid, geo, readOnly, cache)
    if (recovery && damagedBlocks.length) recovery.damaged = locateDamage(img.v, damagedBlocks)
    img.recovery = recovery
    if (!readOnly) {
      img.startWriting()
      const freed = opts.reapOrphans === false ? 0 : img.reapOrphans()
      if (freed && recovery) recovery.orphans = freed
    }
    return img
  }

  /** Mark the image in use (dirty, journal armed) and make that durable. */
  private startWriting(): void {
    const {sb, geo, dev, uuid} = this.v
    sb.state &= ~STATE_CLEAN
    sb.writeCount = (sb.writeCount + 1) >>> 0
    if (geo.journalBlocks && !this.bulk) {
      sb.incompat = withFeature(sb.incompat, 'needs_recovery')
      this.journal = new Journal(dev, geo, uuid, sb.journalHead, sb.journalSeq)
      this.v.alloc.journaled = true
      this.v.alloc.onPressure = () => this.checkpoint()
    }
    this.committedFields = this.liveFields()
    this.writeSuper(false)
    dev.flush()
  }

  private liveFields(): Omit<CommitFields, 'seq' | 'blocks' | 'flags'> {
    const {v} = this
    return {
      treeRoot: v.tree.root,
      treeHeight: v.tree.height,
      freeBlocks: v.alloc.freeBlocks,
      inodeCount: v.sb.inodeCount,
      nextIno: v.sb.nextIno,
      generation: v.sb.generation,
    }
  }

  /** Write the superblock (and with `backup` its copy) from the last committed state. */
  private writeSuper(backup: boolean): void {
    const {v} = this
    const f = this.journal ? this.committedFields! : this.liveFields()
    v.sb.generation++
    v.sb.treeRoot = f.treeRoot
    v.sb.treeHeight = f.treeHeight
    v.sb.freeBlocks = f.freeBlocks
    const live = {inodeCount: v.sb.inodeCount, nextIno: v.sb.nextIno}
    v.sb.inodeCount = f.inodeCount
    v.sb.nextIno = f.nextIno
    if (this.journal) {
      v.sb.journalHead = this.journal.head
      v.sb.journalSeq = this.journal.seq
    }
    writeSuperblock(v.dev, v.sb, v.uuid, v.geo, backup)
    v.sb.inodeCount = live.inodeCount
    v.sb.nextIno = live.nextIno
  }

  private assertOpen(): void {
    if (this.closed) throw fail('EINVAL', `${this.path}: image is closed`)
  }

  private assertWritable(): void {
    this.assertOpen()
    if (this.readOnly) throw fail('EROFS', `${this.path} is open read-only`)
  }

  /** Dirty metadata, encoded, in block order. */
  private takeDirty(): MetaBlock[] {
    const gen = this.v.sb.generation + 1
    return [...this.store.takeDirty(gen), ...this.v.alloc.takeDirty(gen)].sort((a, b) => a.block - b.block)
  }

  /** Write blocks home, coalescing contiguous blocks into one write. */
  private writeHome(blocks: MetaBlock[]): void {
    const bs = this.v.geo.blockSize
    for (let i = 0; i < blocks.length;) {
      let j = i + 1
      while (j < blocks.length && blocks[j]!.block === blocks[j - 1]!.block + 1) j++
      const run = blocks.slice(i, j)
      this.v.dev.write(run[0]!.block * bs, run.length === 1 ? run[0]!.data : Buffer.concat(run.map((r) => r.data)))
      i = j
    }
  }

  /** Without a journal: write dirty metadata straight home. */
  private writeMetadata(): void {
    this.v.data.drain()
    this.writeHome(this.takeDirty())
  }

  /**
   * Commit the running transaction: its data is already on the device, its
   * metadata goes to the journal (durable when this returns), then home.
   */
  private commit(): void {
    const j = this.journal
    if (!j) {
      this.writeMetadata()
      return
    }
    if (!this.store.dirtyCount && !this.v.alloc.hasDirty) return
    this.v.data.drain()
    this.v.sb.generation++
    const blocks = this.takeDirty()
    const data = this.v.data
    const listed = !data.wroteData ? [] : (data.checks ?? 'ordered')
    // the descriptors listing data blocks take journal space too (leaving them out let a commit fail with ENOSPC at fsync)
    const cost = j.cost(blocks.length, listed === 'ordered' ? 0 : listed.length)
    if (cost > j.free) this.checkpoint()
    if (cost > j.free)
      throw fail(
        'EJOURNAL',
        `one operation changed ${blocks.length} metadata blocks, more than the ${j.size}-block journal (${j.size * this.v.geo.blockSize} bytes) holds; make the image again with a larger one ('razorfs mkfs --journal-size')`,
      )
    const fields = this.liveFields()
    j.write(blocks, fields, listed)
    data.committed()
    this.committedFields = fields
    this.v.alloc.committed()
    this.writeHome(blocks)
    this.commits++
  }

  /** Make every committed transaction durable at home and empty the journal. */
  private checkpoint(): void {
    const j = this.journal
    if (!j || (j.used === 0 && this.checkpointedSeq === j.seq)) return
    this.v.dev.flush()
    j.emptied()
    this.writeSuper(false)
    this.v.dev.flush()
    this.v.alloc.checkpointed()
    this.checkpointedSeq = j.seq
  }

  /** Whether anything changed since the last commit (flush() has something to do). */
  get uncommitted(): boolean {
    return !this.readOnly && (this.store.dirtyCount > 0 || this.v.alloc.hasDirty)
  }

  /** Commit everything so far; when this returns it survives a crash. */
  flush(): void {
    this.assertOpen()
    if (this.readOnly) return
    this.commit()
    if (!this.journal) {
      this.writeSuper(false)
      this.v.dev.flush()
    }
  }

  /** Commit, checkpoint, mark the image clean (both superblocks) and close the file. Safe to call twice. */
  close(): void {
    if (this.closed) return
    try {
      if (!this.readOnly) {
        for (const ino of [...this.holds.keys()]) {
          this.holds.set(ino, 1)
          this.release(ino)
        }
        this.commit()
        this.checkpoint()
        this.v.dev.flush()
        const t = this.clock()
        this.v.sb.modifiedSec = t.sec
        this.v.sb.modifiedNsec = t.nsec
        this.v.sb.state |= STATE_CLEAN
        this.v.sb.incompat = withoutFeature(this.v.sb.incompat, 'needs_recovery')
        this.writeSuper(true)
        this.v.dev.flush()
      }
    } finally {
      this.closed = true
      try {
        this.v.dev.close()
      } finally {
        this.releaseLock?.()
      }
    }
  }

  /** Abandon the image without writing anything more (what a crash does; for tests). */
  abandon(): void {
    if (this.closed) return
    this.closed = true
    try {
      this.v.dev.close()
    } finally {
      this.releaseLock?.()
    }
  }

  /**
   * At the start of an operation that may need about `bytes` of new blocks
   * (plus some for the tree): make sure they are there. Blocks freed by
   * earlier operations are reusable only once committed and checkpointed;
   * between operations committing is safe, so do it when short. Fails with
   * ENOSPC having changed nothing: an operation never stops half-done for
   * lack of space.
   */
  private reserve(bytes: number, scope?: {ino: number; from: number; to: number}): void {
    const {alloc, geo} = this.v
    const need = Math.ceil(bytes / geo.blockSize) + RESERVE_SLACK
    // blocks held back for preallocated ranges are not free, but for an operation on them
    const cs = geo.clusterSize
    const held =
      this.prealloc.held -
      (scope && scope.to > scope.from
        ? this.prealloc.usable(scope.ino, Math.floor(scope.from / cs), Math.floor((scope.to - 1) / cs))
        : 0)
    if (alloc.available - held >= need) return
    this.commit()
    this.checkpoint()
    if (alloc.available - held < need)
      throw fail(
        'ENOSPC',
        `no space left in image: ${Math.max(0, alloc.available - held) * geo.blockSize} bytes free, about ${need * geo.blockSize} needed`,
      )
  }

  /** Between operations: free what an unlink left on the orphan list to free in steps, and commit once the running transaction is large. */
  private settle(): void {
    for (const ino of this.toFree) {
      this.toFree.delete(ino)
      if (!this.holds.has(ino) && isOrphan(this.v, ino) && this.inode(ino).nlink === 0) {
        this.destroyInSteps(ino)
        removeOrphan(this.v, ino)
      }
    }
    this.commitIfLarge()
  }

  /**
   * Shrink a bulk build (CreateOptions.bulk) to the blocks its contents use
   * plus `headroomBlocks` free ones, before close: the image keeps its layout
   * (every block number stays), the backup superblock moves to the new last
   * block and the file is truncated. When the smaller image needs fewer
   * bitmap blocks, the journal grows by the difference (it starts right
   * after the bitmap, FORMAT.md §2); in an image without a journal they
   * become free data blocks.
   */
  fitToContents(headroomBlocks = 0): {blocks: number; usedBlocks: number} {
    this.assertWritable()
    if (!this.bulk)
      throw fail('EINVAL', `${this.path}: fitToContents needs an image created in bulk mode and not yet closed`)
    if (!Number.isSafeInteger(headroomBlocks) || headroomBlocks < 0)
      throw fail('EINVAL', `bad headroom ${headroomBlocks}`)
    this.commit()
    const {geo, sb, alloc} = this.v
    const bs = geo.blockSize
    const high = alloc.highestUsed()
    const count = Math.max(high + 1 + headroomBlocks, geo.firstFree + MIN_FREE_BLOCKS) + 1
    const used = () => geo.blockCount - alloc.freeBlocks
    if (count >= geo.blockCount) return {blocks: geo.blockCount, usedBlocks: used()}
    let journal = geo.journalBlocks
    const bitmaps = bitmapBlocksFor(count, bs)
    // bitmap blocks no longer needed: the journal starts earlier and grows by them (or, without a journal, they become free data blocks)
    if (bitmaps < geo.bitmapBlocks && journal > 0) journal += geo.bitmapBlocks - bitmaps
    const ng = computeGeometry(bs, geo.clusterSize, count, journal)
    if (ng.firstFree > geo.firstFree || (journal > 0 && ng.firstFree !== geo.firstFree))
      throw fail('EINVAL', 'fitToContents: the layout would move')
    alloc.shrinkTo(ng)
    // the bitmap blocks given to the journal must not look like anything
    const zero = Buffer.alloc(bs)
    for (let b = ng.bitmapStart + ng.bitmapBlocks; b < geo.bitmapStart + geo.bitmapBlocks; b++)
      this.v.dev.write(b * bs, zero)
    sb.blockCount = ng.blockCount
    sb.bitmapBlocks = ng.bitmapBlocks
    sb.journalStart = ng.journalStart
    sb.journalBlocks = ng.journalBlocks
    sb.freeBlocks = alloc.freeBlocks
    this.v.geo = ng
    this.store.setBlockCount(ng.blockCount)
    this.commit()
    this.v.dev.resize(ng.blockCount * bs)
    return {blocks: ng.blockCount, usedBlocks: ng.blockCount - alloc.freeBlocks}
  }

  /** Number of journal commits since open (diagnostics and benchmarks). */
  get commitCount(): number {
    return this.commits
  }

  info(): ImageInfo {
    this.assertOpen()
    const {sb, geo} = this.v
    return {
      version: sb.version,
      uuid: formatUuid(this.v.uuid),
      label: sb.label.toString('utf8').replace(/\0+$/, ''),
      blockSize: sb.blockSize,
      clusterSize: sb.clusterSize,
      blocks: sb.blockCount,
      freeBlocks: Math.max(0, this.v.alloc.freeBlocks - this.prealloc.held),
      inodeCount: sb.inodeCount,
      nextIno: sb.nextIno,
      state: sb.state & STATE_CLEAN ? 'clean' : 'dirty',
      features: {
        compat: featureNames('compat', sb.compat),
        roCompat: featureNames('roCompat', sb.roCompat),
        incompat: featureNames('incompat', sb.incompat),
      },
      created: {sec: sb.createdSec, nsec: sb.createdNsec},
      modified: {sec: sb.modifiedSec, nsec: sb.modifiedNsec},
      compression: {algorithm: sb.compression === COMPRESSION_ZSTD ? 'zstd' : 'none', level: sb.compressionLevel},
      layout: {
        superblock: 0,
        backupSuperblock: geo.backupSuperblock,
        bitmapStart: geo.bitmapStart,
        bitmapBlocks: geo.bitmapBlocks,
        journalStart: geo.journalStart,
        journalBlocks: geo.journalBlocks,
        treeRoot: this.v.tree.root,
        treeHeight: this.v.tree.height,
      },
    }
  }

  /** Walks the whole tree: inodes, logical data bytes and the space storing them. */
  stats(): ImageStats {
    this.assertOpen()
    const {geo} = this.v
    let inodes = 0
    let dataBytes = 0
    let storedBytes = 0
    for (const [k, raw] of this.v.tree.range({objectid: 0, type: 0, offset: 0}, MAX_KEY)) {
      if (k.type === ItemType.INODE) inodes++
      else if (k.type === ItemType.EXTENT && raw.length >= extentRecord.size) {
        const e = extentRecord.decode(raw)
        dataBytes += e.length
        if (e.storage !== STORAGE_PACKED)
          storedBytes += e.storage === STORAGE_BLOCKS ? Math.ceil(e.stored / geo.blockSize) * geo.blockSize : e.stored
      } else if (k.type === ItemType.PACK && raw.length === packRecord.size) {
        storedBytes += Math.ceil(packRecord.decode(raw).stored / geo.blockSize) * geo.blockSize
      }
    }
    return {
      blockSize: geo.blockSize,
      clusterSize: geo.clusterSize,
      blocks: geo.blockCount,
      freeBlocks: this.v.alloc.freeBlocks,
      usedBlocks: geo.blockCount - this.v.alloc.freeBlocks,
      inodes,
      dataBytes,
      storedBytes,
    }
  }

  /** The shared state under this image, for fsck's repair code. @internal */
  get volume(): Volume {
    return this.v
  }

  /** The shared state under this image, which must be open (check/image-check.ts adds check() with it). @internal */
  openVolume(): Volume {
    this.assertOpen()
    return this.v
  }

  // ---- lookups ----------------------------------------------------------

  private inode(ino: number): InodeRecord {
    this.assertOpen()
    return readInode(this.v, ino)
  }

  private dirInode(ino: number): InodeRecord {
    const rec = this.inode(ino)
    if ((rec.mode & S_IFMT) !== S_IFDIR) throw fail('ENOTDIR', `inode ${ino} is not a directory`, {ino})
    return rec
  }

  lookup(dir: number, name: string | Buffer): number | undefined {
    this.dirInode(dir)
    const n = typeof name === 'string' ? Buffer.from(name, 'utf8') : name
    if (n.equals(Buffer.from('.'))) return dir
    if (n.equals(Buffer.from('..'))) return this.inode(dir).parent
    return lookupEntry(this.v, dir, validName(n))?.ino
  }

  /**
   * Inode number of a path ('/'-separated, from the root). Symlinks in the
   * middle are followed; a final symlink only with `follow`.
   */
  resolve(path: string | Buffer, opts: {follow?: boolean} = {}): number {
    this.assertOpen()
    const p = typeof path === 'string' ? Buffer.from(path, 'utf8') : path
    const shown = p.toString('utf8')
    const queue = splitPath(p)
    let dir = ROOT_INO
    let cur = ROOT_INO
    let links = 0
    while (queue.length) {
      const part = queue.shift()!
      const rec = this.inode(cur)
      if ((rec.mode & S_IFMT) !== S_IFDIR) throw fail('ENOTDIR', `${shown}: not a directory`, {path: shown})
      dir = cur
      let next: number | undefined
      if (part.equals(Buffer.from('.'))) next = cur
      else if (part.equals(Buffer.from('..'))) next = rec.parent
      else {
        if (part.length > 255) throw fail('ENAMETOOLONG', `${shown}: file name too long`, {path: shown})
        next = lookupEntry(this.v, cur, part)?.ino
      }
      if (next === undefined) throw fail('ENOENT', `${shown}: no such file or directory`, {path: shown})
      const nrec = this.inode(next)
      if ((nrec.mode & S_IFMT) === S_IFLNK && (queue.length > 0 || opts.follow)) {
        if (++links > MAX_SYMLINKS) throw fail('ELOOP', `${shown}: too many levels of symbolic links`, {path: shown})
        const target = readData(this.v, next, nrec, 0, nrec.size)
        queue.unshift(...splitPath(target))
        cur = target[0] === 0x2f ? ROOT_INO : dir
        continue
      }
      cur = next
    }
    return cur
  }

  stat(ino: number): Stat {
    const st = toStat(this.v, ino, this.inode(ino))
    // a preallocated window counts as allocated, as ext4's unwritten extents do
    st.allocated += this.prealloc.windows(ino) * this.v.geo.clusterSize
    return st
  }

  /** Entries of a directory (not '.' and '..'), in hash order. */
  readdir(dir: number): DirEntry[] {
    this.dirInode(dir)
    return listEntries(this.v, dir)
  }

  read(ino: number, offset: number, length: number): Buffer {
    const rec = this.inode(ino)
    if ((rec.mode & S_IFMT) === S_IFDIR) throw fail('EISDIR', `inode ${ino} is a directory`, {ino})
    return readData(this.v, ino, rec, offset, length)
  }

  readFile(ino: number): Buffer {
    const rec = this.inode(ino)
    if ((rec.mode & S_IFMT) === S_IFDIR) throw fail('EISDIR', `inode ${ino} is a directory`, {ino})
    return readData(this.v, ino, rec, 0, rec.size)
  }

  readlink(ino: number): Buffer {
    const rec = this.inode(ino)
    if ((rec.mode & S_IFMT) !== S_IFLNK) throw fail('EINVAL', `inode ${ino} is not a symbolic link`, {ino})
    return readData(this.v, ino, rec, 0, rec.size)
  }

  extents(ino: number): ExtentInfo[] {
    this.inode(ino)
    return allExtents(this.v, ino).map((e) => extentInfo(this.v, e))
  }

  /**
   * The extents of a file that end after `from`, in order, at most `max` of
   * them: what a copy reads, batch by batch, so that memory stays bounded for
   * a file of any size and the rest (the holes) costs nothing. Collected
   * before returning, so the caller may change the image between batches.
   */
  mappedRanges(ino: number, from = 0, max = 1024): ExtentInfo[] {
    this.inode(ino)
    const out: ExtentInfo[] = []
    const start = Math.max(0, from - this.v.geo.clusterSize + 1)
    for (const [k, raw] of this.v.tree.range(extentKey(ino, start), extentKey(ino, MAX_FILE_SIZE))) {
      const e = decodeExtent(this.v, ino, k, raw)
      if (e.offset + e.rec.length <= from) continue
      out.push(extentInfo(this.v, e))
      if (out.length >= max) break
    }
    return out
  }

  listXattrs(ino: number): string[] {
    this.inode(ino)
    return listXattrNames(this.v, ino)
  }

  getXattr(ino: number, name: string): Buffer {
    this.inode(ino)
    return getXattrValue(this.v, ino, name)
  }

  // ---- mutations ----------------------------------------------------------

  /** Read an inode, let `fn` change it, write it back. */
  private modify<T>(ino: number, fn: (rec: InodeRecord) => T): T {
    const rec = this.inode(ino)
    const r = fn(rec)
    writeInode(this.v, ino, rec)
    return r
  }

  private touchDir(dir: number, delta: number, t: Timespec, nlinkDelta = 0): void {
    this.modify(dir, (d) => {
      d.size += delta
      d.nlink += nlinkDelta
      setTime(d, 'mtime', t)
      setTime(d, 'ctime', t)
    })
  }

  private newInode(dir: number, name: Buffer, mode: number, attrs: InodeAttrs): number {
    this.assertWritable()
    this.dirInode(dir)
    this.reserve(0)
    if (lookupEntry(this.v, dir, name)) throw fail('EEXIST', `'${name}' exists`, {ino: dir})
    const t = this.clock()
    const {sb} = this.v
    const ino = sb.nextIno
    const rec = newInode(mode, t, sb.generation)
    rec.uid = attrs.uid ?? 0
    rec.gid = attrs.gid ?? 0
    rec.rdev = storableRdev(attrs.rdev ?? 0)
    rec.flags = attrs.flags ?? 0
    for (const w of ['atime', 'mtime', 'ctime', 'crtime'] as const) if (attrs[w]) setTime(rec, w, attrs[w]!)
    const isDir = (mode & S_IFMT) === S_IFDIR
    if (isDir) {
      rec.nlink = 2
      rec.parent = dir
    }
    writeInode(this.v, ino, rec)
    addEntry(this.v, dir, name, ino, ftypeCode(fileTypeOfMode(mode)!))
    this.touchDir(dir, 1, t, isDir ? 1 : 0)
    sb.nextIno++
    sb.inodeCount++
    this.settle()
    return ino
  }

  /** Create a file, device node, fifo or socket (by the type bits of mode; none means a regular file). */
  create(dir: number, name: string | Buffer, attrs: InodeAttrs): number {
    let mode = attrs.mode ?? 0o644
    if ((mode & S_IFMT) === 0) mode |= S_IFREG
    const type = fileTypeOfMode(mode)
    if (!type) throw fail('EINVAL', `invalid mode 0${mode.toString(8)}`)
    if (type === 'dir' || type === 'symlink')
      throw fail('EINVAL', `use ${type === 'dir' ? 'mkdir' : 'symlink'} to create a ${type}`)
    return this.newInode(dir, asName(name), mode, attrs)
  }

  mkdir(dir: number, name: string | Buffer, attrs: InodeAttrs): number {
    return this.newInode(dir, asName(name), S_IFDIR | ((attrs.mode ?? 0o755) & 0o7777), attrs)
  }

  symlink(dir: number, name: string | Buffer, target: string | Buffer, attrs: InodeAttrs): number {
    const t = typeof target === 'string' ? Buffer.from(target, 'utf8') : target
    if (t.length === 0 || t.length > SYMLINK_MAX)
      throw fail(
        t.length ? 'ENAMETOOLONG' : 'ENOENT',
        `symlink target of ${t.length} bytes (1 to ${SYMLINK_MAX} allowed)`,
      )
    if (t.includes(0)) throw fail('EINVAL', 'symlink target contains NUL')
    const ino = this.newInode(dir, asName(name), S_IFLNK | 0o777, attrs)
    this.modify(ino, (rec) => writeData(this.v, ino, rec, 0, t))
    return ino
  }

  link(ino: number, dir: number, name: string | Buffer): void {
    this.assertWritable()
    const n = asName(name)
    const rec = this.inode(ino)
    if ((rec.mode & S_IFMT) === S_IFDIR) throw fail('EINVAL', 'hard links to directories are not allowed', {ino})
    if (rec.nlink >= NLINK_MAX) throw fail('EMLINK', `inode ${ino} has too many links`, {ino})
    if (rec.nlink === 0) throw fail('ENOENT', `inode ${ino} has been removed`, {ino})
    this.dirInode(dir)
    const t = this.clock()
    addEntry(this.v, dir, n, ino, ftypeCode(fileTypeOfMode(rec.mode)!))
    this.modify(ino, (r) => {
      r.nlink++
      setTime(r, 'ctime', t)
    })
    this.touchDir(dir, 1, t)
    this.settle()
  }

  /** Remove the inode's data, attributes and record. */
  private destroy(ino: number, rec: InodeRecord): void {
    this.prealloc.forget(ino)
    freeData(this.v, ino, rec)
    freeXattrs(this.v, ino, rec)
    this.v.tree.delete(inodeKey(ino))
    this.v.sb.inodeCount--
  }

  unlink(dir: number, name: string | Buffer): void {
    this.assertWritable()
    const n = asName(name)
    this.dirInode(dir)
    const e = lookupEntry(this.v, dir, n)
    if (!e) throw fail('ENOENT', `'${n}' not found`, {ino: dir})
    const rec = this.inode(e.ino)
    if ((rec.mode & S_IFMT) === S_IFDIR) throw fail('EISDIR', `'${n}' is a directory`, {ino: e.ino})
    const t = this.clock()
    removeEntry(this.v, dir, n)
    this.touchDir(dir, -1, t)
    this.dropLink(e.ino, t)
    this.settle()
  }

  private dropLink(ino: number, t: Timespec): void {
    const rec = this.inode(ino)
    rec.nlink--
    setTime(rec, 'ctime', t)
    if (rec.nlink === 0 && !this.holds.has(ino) && !this.bigData(rec)) this.destroy(ino, rec)
    else if (rec.nlink === 0 && !this.holds.has(ino)) {
      // too much data to free in the operation's transaction: orphan it now, free it in steps once the operation is done
      writeInode(this.v, ino, rec)
      addOrphan(this.v, ino)
      this.toFree.add(ino)
    } else {
      writeInode(this.v, ino, rec)
      if (rec.nlink === 0) addOrphan(this.v, ino)
    }
  }

  /**
   * Keep an inode alive while it is open (FUSE open files): if its last name
   * is removed meanwhile it becomes an orphan (FORMAT.md §7, ORPHAN items), still
   * readable and writable, and is freed by the last release() — or, after a
   * crash, by the next read-write open. Holds are counted.
   */
  hold(ino: number): void {
    this.inode(ino)
    this.holds.set(ino, (this.holds.get(ino) ?? 0) + 1)
  }

  /** Drop one hold(); the last one frees the inode if it has no name left. */
  release(ino: number): void {
    const n = this.holds.get(ino)
    if (!n) return
    if (n > 1) {
      this.holds.set(ino, n - 1)
      return
    }
    this.holds.delete(ino)
    if (this.readOnly || this.closed || !isOrphan(this.v, ino)) return
    if (this.inode(ino).nlink === 0) this.destroyInSteps(ino)
    removeOrphan(this.v, ino)
    this.settle()
  }

  /** Whether freeing a file's data may not fit in one transaction (more than a cluster of it). */
  private bigData(rec: InodeRecord): boolean {
    return !!this.journal && (rec.mode & S_IFMT) === S_IFREG && rec.size > this.v.geo.clusterSize
  }

  /**
   * Free an inode whose data may be too large for one transaction: the data
   * is cut from the end first (shrinkInSteps), then the inode goes. The
   * caller has it on the orphan list, so a crash in between frees the rest
   * at the next read-write open.
   */
  private destroyInSteps(ino: number): void {
    this.shrinkInSteps(ino, 0)
    this.destroy(ino, this.inode(ino))
  }

  /**
   * Cut a file's data down to `size` from the end, one cluster window at a
   * time, committing whenever the running transaction gets large, so that
   * no transaction outgrows the journal. Every committed state is the file
   * cut at a cluster boundary, its data below intact (FORMAT.md §9). The
   * last piece, down to `size` itself, is left to the caller's own change.
   */
  private shrinkInSteps(ino: number, size: number): void {
    if (!this.journal) return
    const cs = this.v.geo.clusterSize
    const windows: number[] = []
    for (const [k] of this.v.tree.range(extentKey(ino, size), extentKey(ino, MAX_FILE_SIZE))) {
      const w = Math.floor(k.offset / cs) * cs
      if (w > size && windows[windows.length - 1] !== w) windows.push(w)
    }
    for (let i = windows.length - 1; i >= 0; i--) {
      const w = windows[i]!
      this.modify(ino, (rec) => {
        if (rec.size > w) truncateData(this.v, ino, rec, w)
      })
      this.commitIfLarge()
    }
  }

  /** Commit once the running transaction is large (between the steps of one operation, or between operations). */
  private commitIfLarge(): void {
    const limit = this.journal
      ? Math.min(DEFAULT_CACHE_BLOCKS / 2, Math.floor(this.journal.size / 4))
      : DEFAULT_CACHE_BLOCKS / 2
    if (this.store.dirtyCount + this.v.alloc.dirtyCount > limit) this.commit()
  }

  /** Free the orphans a crash left (at a read-write open); returns how many inodes were freed. */
  private reapOrphans(): number {
    let freed = 0
    for (const ino of listOrphans(this.v)) {
      const raw = this.v.tree.get(inodeKey(ino))
      if (raw) {
        const rec = this.inode(ino)
        if (rec.nlink === 0) {
          this.destroyInSteps(ino)
          freed++
        }
      }
      removeOrphan(this.v, ino)
    }
    if (freed || this.store.dirtyCount) this.commit()
    return freed
  }

  rmdir(dir: number, name: string | Buffer): void {
    this.assertWritable()
    const n = asName(name)
    this.dirInode(dir)
    const e = lookupEntry(this.v, dir, n)
    if (!e) throw fail('ENOENT', `'${n}' not found`, {ino: dir})
    const rec = this.inode(e.ino)
    if ((rec.mode & S_IFMT) !== S_IFDIR) throw fail('ENOTDIR', `'${n}' is not a directory`, {ino: e.ino})
    if (!isEmptyDir(this.v, e.ino)) throw fail('ENOTEMPTY', `'${n}' is not empty`, {ino: e.ino})
    const t = this.clock()
    removeEntry(this.v, dir, n)
    this.touchDir(dir, -1, t, -1)
    this.destroy(e.ino, rec)
    this.settle()
  }

  rename(dir: number, name: string | Buffer, newDir: number, newName: string | Buffer): void {
    this.assertWritable()
    const n = asName(name)
    const nn = asName(newName)
    this.dirInode(dir)
    this.dirInode(newDir)
    const src = lookupEntry(this.v, dir, n)
    if (!src) throw fail('ENOENT', `'${n}' not found`, {ino: dir})
    const srcRec = this.inode(src.ino)
    const srcIsDir = (srcRec.mode & S_IFMT) === S_IFDIR
    if (srcIsDir) {
      // refuse to move a directory into itself or below itself
      for (let p = newDir, hops = 0; ; hops++) {
        if (p === src.ino) throw fail('EINVAL', `cannot move '${n}' into itself`, {ino: src.ino})
        if (p === ROOT_INO || hops > 100000) break
        p = this.inode(p).parent
      }
    }
    const t = this.clock()
    const dst = lookupEntry(this.v, newDir, nn)
    if (dst) {
      if (dst.ino === src.ino) return
      const dstRec = this.inode(dst.ino)
      const dstIsDir = (dstRec.mode & S_IFMT) === S_IFDIR
      if (srcIsDir && !dstIsDir) throw fail('ENOTDIR', `'${nn}' is not a directory`, {ino: dst.ino})
      if (!srcIsDir && dstIsDir) throw fail('EISDIR', `'${nn}' is a directory`, {ino: dst.ino})
      if (dstIsDir && !isEmptyDir(this.v, dst.ino)) throw fail('ENOTEMPTY', `'${nn}' is not empty`, {ino: dst.ino})
      replaceEntry(this.v, newDir, nn, src.ino, src.ftype)
      // a directory replacing a directory leaves newDir's subdirectory count unchanged
      if (dstIsDir) this.destroy(dst.ino, dstRec)
      else this.dropLink(dst.ino, t)
      this.touchDir(newDir, 0, t)
    } else {
      addEntry(this.v, newDir, nn, src.ino, src.ftype)
      this.touchDir(newDir, 1, t, srcIsDir ? 1 : 0)
    }
    removeEntry(this.v, dir, n)
    this.touchDir(dir, -1, t, srcIsDir ? -1 : 0)
    this.modify(src.ino, (r) => {
      if (srcIsDir) r.parent = newDir
      setTime(r, 'ctime', t)
    })
    this.settle()
  }

  private regular(ino: number): InodeRecord {
    const rec = this.inode(ino)
    if ((rec.mode & S_IFMT) === S_IFDIR) throw fail('EISDIR', `inode ${ino} is a directory`, {ino})
    if ((rec.mode & S_IFMT) !== S_IFREG) throw fail('EINVAL', `inode ${ino} is not a regular file`, {ino})
    return rec
  }

  write(ino: number, offset: number, data: Buffer): void {
    this.assertWritable()
    this.regular(ino)
    if (!Number.isSafeInteger(offset) || offset < 0) throw fail('EINVAL', `bad offset ${offset}`)
    // the clusters at both ends are rewritten whole
    this.reserve(data.length + 2 * this.v.geo.clusterSize, {ino, from: offset, to: offset + data.length})
    const t = this.clock()
    this.modify(ino, (rec) => {
      writeData(this.v, ino, rec, offset, data)
      setTime(rec, 'mtime', t)
      setTime(rec, 'ctime', t)
    })
    this.written(ino, offset, offset + data.length)
    this.settle()
  }

  /** Preallocated windows of [from, to) that now hold data are reserved no more. */
  private written(ino: number, from: number, to: number): void {
    if (!this.prealloc.has(ino) || to <= from) return
    const cs = this.v.geo.clusterSize
    const first = Math.floor(from / cs)
    const last = Math.floor((to - 1) / cs)
    const data = new Set(extentsIn(this.v, ino, first * cs, (last + 1) * cs).map((e) => Math.floor(e.offset / cs)))
    this.prealloc.drop(ino, (i) => i >= first && i <= last && data.has(i))
  }

  truncate(ino: number, size: number): void {
    this.assertWritable()
    this.regular(ino)
    if (!Number.isSafeInteger(size) || size < 0) throw fail('EINVAL', `bad size ${size}`)
    this.reserve(this.v.geo.clusterSize, {ino, from: size, to: size + 1})
    const t = this.clock()
    let old = 0
    this.shrinkInSteps(ino, size)
    this.modify(ino, (rec) => {
      old = rec.size
      truncateData(this.v, ino, rec, size)
      setTime(rec, 'mtime', t)
      setTime(rec, 'ctime', t)
    })
    // as ext4 frees the blocks past a shrunk end of file: windows wholly past it are reserved no more
    if (size < old) {
      const cs = this.v.geo.clusterSize
      this.prealloc.drop(ino, (i) => i * cs >= size)
    }
    this.settle()
  }

  /** Turn a byte range into a hole (fallocate PUNCH_HOLE|KEEP_SIZE). */
  punchHole(ino: number, offset: number, length: number): void {
    this.assertWritable()
    this.regular(ino)
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 1)
      throw fail('EINVAL', `bad range ${offset}+${length}`)
    this.reserve(2 * this.v.geo.clusterSize, {ino, from: offset, to: offset + length})
    const t = this.clock()
    this.modify(ino, (rec) => {
      punchData(this.v, ino, rec, offset, length)
      setTime(rec, 'mtime', t)
      setTime(rec, 'ctime', t)
    })
    // a punched window is deallocated (as in ext4): its reservation ends
    const cs = this.v.geo.clusterSize
    this.prealloc.drop(ino, (i) => i * cs >= offset && (i + 1) * cs <= offset + length)
    this.settle()
  }

  /**
   * fallocate(2) with ext4's results (`mode`: FALLOC_FL_* bits). 0 and
   * KEEP_SIZE preallocate: the windows of the range that hold no data get
   * blocks held back for them while the image is open (see prealloc.ts), and
   * without KEEP_SIZE the file grows to the range's end. ZERO_RANGE makes
   * the range zeros (holes, FORMAT.md §10) and preallocates it likewise;
   * PUNCH_HOLE (only with KEEP_SIZE) makes it zeros and ends reservations.
   * COLLAPSE_RANGE, INSERT_RANGE, UNSHARE_RANGE and any other bit: EOPNOTSUPP.
   * A range past the largest file size: EFBIG. Not enough free space: ENOSPC,
   * with nothing changed.
   */
  fallocate(ino: number, offset: number, length: number, mode = 0): void {
    this.assertWritable()
    this.regular(ino)
    const keep = (mode & FALLOC_FL_KEEP_SIZE) !== 0
    const op = mode & ~FALLOC_FL_KEEP_SIZE
    if (op === FALLOC_FL_PUNCH_HOLE && !keep) throw fail('EOPNOTSUPP', 'fallocate: PUNCH_HOLE needs KEEP_SIZE')
    if (op !== 0 && op !== FALLOC_FL_PUNCH_HOLE && op !== FALLOC_FL_ZERO_RANGE)
      throw fail(
        'EOPNOTSUPP',
        `fallocate mode ${mode.toString(16)} is not supported (RAZORFS offers 0, KEEP_SIZE, PUNCH_HOLE and ZERO_RANGE)`,
      )
    // (offsets past 2^53 arrive rounded, still integers: EFBIG below)
    if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(length) || length < 1)
      throw fail('EINVAL', `fallocate: bad range ${offset}+${length}`, {ino})
    if (offset + length > MAX_FILE_SIZE)
      throw fail('EFBIG', `fallocate: ${offset}+${length} is past the largest file size (${MAX_FILE_SIZE} bytes)`, {
        ino,
      })
    if (op === FALLOC_FL_PUNCH_HOLE) return this.punchHole(ino, offset, length)
    const {geo, alloc} = this.v
    const cs = geo.clusterSize
    const end = offset + length
    const first = Math.floor(offset / cs)
    const last = Math.floor((end - 1) / cs)
    // windows that will hold data after the operation (ZERO_RANGE empties those it covers whole)
    const covered = (i: number) => op === FALLOC_FL_ZERO_RANGE && i * cs >= offset && (i + 1) * cs <= end
    const dataWins = new Set<number>()
    for (const e of extentsIn(this.v, ino, offset, end)) {
      const i = Math.floor(e.offset / cs)
      if (!covered(i)) dataWins.add(i)
    }
    const fresh = last - first + 1 - dataWins.size - this.prealloc.reservedIn(ino, first, last)
    const more = fresh * this.prealloc.perCluster + (fresh > 0 && !this.prealloc.has(ino) ? this.prealloc.perFile : 0)
    // and what the zeroing (windows at both ends rewritten) or the size change may use
    const need = more + Math.ceil((2 * cs) / geo.blockSize) + RESERVE_SLACK
    // every reservation stays; the zeroing may use this file's own allowance
    const room = () => alloc.available - this.prealloc.held + (this.prealloc.has(ino) ? this.prealloc.perFile : 0)
    if (room() < need) {
      this.commit()
      this.checkpoint()
      if (room() < need)
        throw fail(
          'ENOSPC',
          `no space left in image to preallocate ${length} bytes: ${Math.max(0, alloc.available - this.prealloc.held) * geo.blockSize} bytes free, about ${need * geo.blockSize} needed`,
          {ino},
        )
    }
    const t = this.clock()
    this.modify(ino, (rec) => {
      if (op === FALLOC_FL_ZERO_RANGE) {
        punchData(this.v, ino, rec, offset, length)
        setTime(rec, 'mtime', t)
      }
      if (!keep && end > rec.size) {
        truncateData(this.v, ino, rec, end)
        setTime(rec, 'mtime', t)
      }
      setTime(rec, 'ctime', t)
    })
    if (fresh > 0) {
      const holes: number[] = []
      const data = new Set(extentsIn(this.v, ino, offset, end).map((e) => Math.floor(e.offset / cs)))
      for (let i = first; i <= last; i++) if (!data.has(i)) holes.push(i)
      this.prealloc.add(ino, holes)
    }
    this.settle()
  }

  /** How data of a new file is planned: the image's compression (see data-plan.ts). */
  defaultPlanSettings(): PlanSettings {
    this.assertOpen()
    return {
      blockSize: this.v.geo.blockSize,
      compress: this.v.sb.compression === COMPRESSION_ZSTD,
      level: this.v.sb.compressionLevel,
    }
  }

  /** How file data of an inode is planned (compression on, level, block size): see data-plan.ts. */
  planSettings(ino: number): PlanSettings {
    return planSettings(this.v, this.regular(ino))
  }

  /**
   * Store one cluster window of a regular file from a plan made ahead
   * (planWindow with this inode's planSettings, possibly in a worker thread).
   * The window starts on a cluster boundary and holds the file's whole
   * content there; the file grows to its end. Times are left as they are.
   */
  writePrepared(ino: number, offset: number, content: Buffer, plan: WindowPlan): void {
    this.assertWritable()
    this.regular(ino)
    if (!Number.isSafeInteger(offset) || offset < 0) throw fail('EINVAL', `bad offset ${offset}`)
    this.modify(ino, (rec) => writePlannedWindow(this.v, ino, rec, offset, content, plan))
    this.written(ino, offset, offset + content.length)
    this.settle()
  }

  /**
   * mkfs: store a pack (FORMAT.md §10) — `stored` is `raw` or its zstd
   * stream — and make each slice the packed last extent of its file. A slice
   * is only used if its file is still a regular file whose size ends the
   * slice and which has no extent in the slice's cluster window (the build
   * wrote its tail as a hole, see DataPipeline); others are skipped. Returns
   * the pack's first block, or undefined when no slice was used (nothing
   * written). Times are left as they are.
   */
  storePack(raw: Buffer, stored: Buffer, compression: number, crc: number, slices: PackSlice[]): number | undefined {
    this.assertWritable()
    if (raw.length < 1 || raw.length > this.v.geo.clusterSize) throw fail('EINVAL', `pack of ${raw.length} bytes`)
    const ok = slices.filter((sl) => sl.start + sl.length <= raw.length && this.tailIsHole(sl))
    if (!ok.length) return undefined
    this.reserve(stored.length)
    const block = writePack(this.v, raw, stored, compression, crc, ok.length)
    for (const sl of ok) this.putPacked(block, sl)
    this.settle()
    return block
  }

  /**
   * mkfs: make `slice` a packed extent of the existing pack at `block` if
   * the pack still exists and holds exactly `bytes` there (and the file
   * qualifies as for storePack). Returns whether it did.
   */
  sharePack(block: number, slice: PackSlice, bytes: Buffer): boolean {
    this.assertWritable()
    if (!this.v.tree.get(packKey(block)) || !this.tailIsHole(slice)) return false
    let have: Buffer
    try {
      have = loadSlice(this.v, slice.ino, slice.offset, block, slice.start, slice.length, slice.crc)
    } catch (e) {
      if (isRazorError(e)) return false
      throw e
    }
    if (!have.equals(bytes)) return false
    addPackRef(this.v, block)
    this.putPacked(block, slice)
    this.settle()
    return true
  }

  private tailIsHole(sl: PackSlice): boolean {
    const raw = this.v.tree.get(inodeKey(sl.ino))
    if (!raw) return false
    const rec = this.inode(sl.ino)
    const cs = this.v.geo.clusterSize
    if (
      (rec.mode & S_IFMT) !== S_IFREG ||
      sl.offset % cs !== 0 ||
      sl.length < 1 ||
      sl.length >= cs ||
      rec.size !== sl.offset + sl.length
    )
      return false
    return extentsIn(this.v, sl.ino, sl.offset, sl.offset + cs).length === 0
  }

  private putPacked(block: number, sl: PackSlice): void {
    const e = {
      storage: STORAGE_PACKED,
      compression: COMPRESSION_NONE,
      crc: sl.crc,
      length: sl.length,
      block,
      stored: sl.start,
    }
    this.v.tree.put(extentKey(sl.ino, sl.offset), encodeExtent(e))
  }

  /** Change mode (permission bits), owner, flags or times. ctime becomes now unless given. */
  setattr(ino: number, attrs: InodeAttrs): void {
    this.assertWritable()
    this.modify(ino, (rec) => {
      if (attrs.mode !== undefined) rec.mode = (rec.mode & S_IFMT) | (attrs.mode & 0o7777)
      if (attrs.uid !== undefined) rec.uid = attrs.uid >>> 0
      if (attrs.gid !== undefined) rec.gid = attrs.gid >>> 0
      if (attrs.flags !== undefined) rec.flags = attrs.flags
      if (attrs.rdev !== undefined) rec.rdev = storableRdev(attrs.rdev)
      for (const w of ['atime', 'mtime', 'crtime'] as const) if (attrs[w]) setTime(rec, w, attrs[w]!)
      setTime(rec, 'ctime', attrs.ctime ?? this.clock())
    })
    this.settle()
  }

  setXattr(ino: number, name: string, value: Buffer): void {
    this.assertWritable()
    this.reserve(value.length)
    this.modify(ino, (rec) => {
      setXattrValue(this.v, ino, rec, name, value)
      setTime(rec, 'ctime', this.clock())
    })
    this.settle()
  }

  removeXattr(ino: number, name: string): void {
    this.assertWritable()
    this.modify(ino, (rec) => {
      removeXattrValue(this.v, ino, rec, name)
      setTime(rec, 'ctime', this.clock())
    })
    this.settle()
  }
}

/** Split a path into its non-empty components. */
function splitPath(p: Buffer): Buffer[] {
  const out: Buffer[] = []
  let s = 0
  for (let i = 0; i <= p.length; i++) {
    if (i === p.length || p[i] === 0x2f) {
      if (i > s) out.push(p.subarray(s, i))
      s = i + 1
    }
  }
  return out
}
