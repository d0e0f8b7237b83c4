/**
 * Opening and closing an image (e2fsprogs' openfs/closefs): create a file and
 * format it, open one (replaying the journal first when a crash left it
 * armed: FORMAT.md §9, recovery), and close it clean, or abandon it.
 */
import fs from 'node:fs'
import {fail} from '../errors.js'
import {newInode, writeInode} from '../fs/inode-table.js'
import type {Volume} from '../fs/volume.js'
import {COMPRESSION_NONE, COMPRESSION_ZSTD} from '../format/extent.js'
import {hasFeature, withFeature, withoutFeature} from '../format/features.js'
import {FIRST_INO, ROOT_INO} from '../format/inode.js'
import type {CommitFields} from '../format/journal.js'
import {FORMAT_VERSION, SIGNATURE, STATE_CLEAN, type SuperblockFields} from '../format/superblock.js'
import {DataWriter} from '../io/data-writer.js'
import {FileDevice, type BlockDevice} from '../io/device.js'
import {acquireWriterLock} from '../io/lock.js'
import {OverlayDevice} from '../io/overlay-device.js'
import {Journal, type TxState} from '../journal/journal.js'
import {Allocator} from '../tree/allocator.js'
import {BTree} from '../tree/btree.js'
import {NodeStore} from '../tree/node-store.js'
import {S_IFDIR, type CreateOptions, type OpenOptions, type Timespec} from '../types.js'
import {normalizeCreateOptions, type NormalizedCreate} from './create-options.js'
import {locateDamage, type DamagedBlock, type DamagedData} from './damage.js'
import {DEFAULT_CACHE_BLOCKS, ImageState} from './state.js'
import {loadSuperblock} from './superblock.js'
import {checkpoint, commit, startWriting, writeMetadata, writeSuper} from './transaction.js'
import {reapOrphans, release} from './unlinked.js'

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

function applyCommit(sb: SuperblockFields, c: CommitFields): void {
  sb.treeRoot = c.treeRoot
  sb.treeHeight = c.treeHeight
  sb.freeBlocks = c.freeBlocks
  sb.inodeCount = c.inodeCount
  sb.nextIno = c.nextIno
  sb.generation = Math.max(sb.generation, c.generation)
}

/** Build the in-memory state over a device whose superblock is loaded. */
function assemble(
  path: string,
  dev: BlockDevice,
  sb: SuperblockFields,
  uuid: Buffer,
  geo: Volume['geo'],
  readOnly: boolean,
  cacheBlocks: number,
): ImageState {
  const allocator = new Allocator(dev, geo, uuid, sb.freeBlocks)
  const store = new NodeStore(dev, allocator, geo.blockSize, uuid, geo.blockCount, cacheBlocks)
  const tree = new BTree(store, sb.treeRoot, sb.treeHeight)
  const v: Volume = {dev, geo, uuid, sb, tree, alloc: allocator, data: new DataWriter(dev, geo.blockSize), readOnly}
  return new ImageState(path, v, store)
}

/** Create a new image file and return it open read-write with an empty root directory. */
export function createImage(path: string, opts: CreateOptions): ImageState {
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
    const s = formatImage(path, dev, o, {clock: opts.clock, bulk: opts.bulk})
    s.releaseLock = release
    return s
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
export function formatImage(
  path: string,
  dev: BlockDevice,
  o: NormalizedCreate,
  mode: {clock?: () => Timespec; bulk?: boolean} = {},
): ImageState {
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
  const s = new ImageState(path, v, store)
  if (mode.clock) s.clock = mode.clock
  s.bulk = mode.bulk ?? false
  // the empty filesystem is written directly; from here on every change goes through the journal
  // (in bulk mode: straight home, and the journal is first used by the next read-write open)
  writeMetadata(s)
  writeSuper(s, true)
  dev.flush()
  startWriting(s)
  return s
}

/** Open an existing image. Read-only unless `readOnly: false`. */
export function openImage(path: string, opts: OpenOptions = {}): ImageState {
  const wantRw = opts.readOnly === false
  const dev = FileDevice.open(path, !wantRw)
  let release: (() => void) | undefined
  try {
    if (wantRw) release = acquireWriterLock(path)
    const s = openDevice(path, dev, opts)
    s.releaseLock = release
    return s
  } catch (e) {
    dev.close()
    release?.()
    throw e
  }
}

/** Open an image on any block device (tests wrap devices to record and crash them). */
export function openDevice(name: string, dev: BlockDevice, opts: OpenOptions = {}): ImageState {
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
        last && last.state !== 'committed' ? {seq: last.seq, state: last.state, reason: last.reason ?? ''} : undefined,
    }
    damagedBlocks = damaged
    sb.journalHead = scan.end
    sb.journalSeq = scan.nextSeq
    if (readOnly) device = new OverlayDevice(dev, geo.blockSize, overlay)
    else dev.flush()
  }
  const s = assemble(name, device, sb, uuid, geo, readOnly, cache)
  if (recovery && damagedBlocks.length) recovery.damaged = locateDamage(s.v, damagedBlocks)
  s.recovery = recovery
  if (!readOnly) {
    startWriting(s)
    const freed = opts.reapOrphans === false ? 0 : reapOrphans(s)
    if (freed && recovery) recovery.orphans = freed
  }
  return s
}

/** Commit, checkpoint, mark the image clean (both superblocks) and close the file. Safe to call twice. */
export function closeImage(s: ImageState): void {
  if (s.closed) return
  try {
    if (!s.readOnly) {
      for (const ino of [...s.holds.keys()]) {
        s.holds.set(ino, 1)
        release(s, ino)
      }
      commit(s)
      checkpoint(s)
      s.v.dev.flush()
      const t = s.clock()
      s.v.sb.modifiedSec = t.sec
      s.v.sb.modifiedNsec = t.nsec
      s.v.sb.state |= STATE_CLEAN
      s.v.sb.incompat = withoutFeature(s.v.sb.incompat, 'needs_recovery')
      writeSuper(s, true)
      s.v.dev.flush()
    }
  } finally {
    s.closed = true
    try {
      s.v.dev.close()
    } finally {
      s.releaseLock?.()
    }
  }
}

/** Abandon the image without writing anything more (what a crash does; for tests). */
export function abandonImage(s: ImageState): void {
  if (s.closed) return
  s.closed = true
  try {
    s.v.dev.close()
  } finally {
    s.releaseLock?.()
  }
}
