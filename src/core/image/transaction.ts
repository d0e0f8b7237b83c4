/**
 * Transactions of an open image (FORMAT.md §9): arming the journal, committing
 * the running transaction (metadata to the journal, then home), checkpointing,
 * writing the superblock from the last committed state, and reserving space
 * before an operation so that none stops half-done.
 */
import {fail} from '../errors.js'
import {withFeature} from '../format/features.js'
import {STATE_CLEAN} from '../format/superblock.js'
import {Journal, type MetaBlock} from '../journal/journal.js'
import {DEFAULT_CACHE_BLOCKS, RESERVE_SLACK, type ImageState, type LiveFields} from './state.js'
import {writeSuperblock} from './superblock.js'

/** Mark the image in use (dirty, journal armed) and make that durable. */
export function startWriting(s: ImageState): void {
  const {sb, geo, dev, uuid} = s.v
  sb.state &= ~STATE_CLEAN
  sb.writeCount = (sb.writeCount + 1) >>> 0
  if (geo.journalBlocks && !s.bulk) {
    sb.incompat = withFeature(sb.incompat, 'needs_recovery')
    s.journal = new Journal(dev, geo, uuid, sb.journalHead, sb.journalSeq)
    s.v.alloc.journaled = true
    s.v.alloc.onPressure = () => checkpoint(s)
  }
  s.committedFields = liveFields(s)
  writeSuper(s, false)
  dev.flush()
}

function liveFields(s: ImageState): LiveFields {
  const {v} = s
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
export function writeSuper(s: ImageState, backup: boolean): void {
  const {v} = s
  const f = s.journal ? s.committedFields! : liveFields(s)
  v.sb.generation++
  v.sb.treeRoot = f.treeRoot
  v.sb.treeHeight = f.treeHeight
  v.sb.freeBlocks = f.freeBlocks
  const live = {inodeCount: v.sb.inodeCount, nextIno: v.sb.nextIno}
  v.sb.inodeCount = f.inodeCount
  v.sb.nextIno = f.nextIno
  if (s.journal) {
    v.sb.journalHead = s.journal.head
    v.sb.journalSeq = s.journal.seq
  }
  writeSuperblock(v.dev, v.sb, v.uuid, v.geo, backup)
  v.sb.inodeCount = live.inodeCount
  v.sb.nextIno = live.nextIno
}

/** Dirty metadata, encoded, in block order. */
function takeDirty(s: ImageState): MetaBlock[] {
  const gen = s.v.sb.generation + 1
  return [...s.store.takeDirty(gen), ...s.v.alloc.takeDirty(gen)].sort((a, b) => a.block - b.block)
}

/** Write blocks home, coalescing contiguous blocks into one write. */
function writeHome(s: ImageState, blocks: MetaBlock[]): void {
  const bs = s.v.geo.blockSize
  for (let i = 0; i < blocks.length;) {
    let j = i + 1
    while (j < blocks.length && blocks[j]!.block === blocks[j - 1]!.block + 1) j++
    const run = blocks.slice(i, j)
    s.v.dev.write(run[0]!.block * bs, run.length === 1 ? run[0]!.data : Buffer.concat(run.map((r) => r.data)))
    i = j
  }
}

/** Without a journal: write dirty metadata straight home. */
export function writeMetadata(s: ImageState): void {
  s.v.data.drain()
  writeHome(s, takeDirty(s))
}

/**
 * Commit the running transaction: its data is already on the device, its
 * metadata goes to the journal (durable when this returns), then home.
 */
export function commit(s: ImageState): void {
  const j = s.journal
  if (!j) {
    writeMetadata(s)
    return
  }
  if (!s.store.dirtyCount && !s.v.alloc.hasDirty) return
  s.v.data.drain()
  s.v.sb.generation++
  const blocks = takeDirty(s)
  const data = s.v.data
  const listed = !data.wroteData ? [] : (data.checks ?? 'ordered')
  // the descriptors listing data blocks take journal space too (leaving them out let a commit fail with ENOSPC at fsync)
  const cost = j.cost(blocks.length, listed === 'ordered' ? 0 : listed.length)
  if (cost > j.free) checkpoint(s)
  if (cost > j.free)
    throw fail(
      'EJOURNAL',
      `one operation changed ${blocks.length} metadata blocks, more than the ${j.size}-block journal (${j.size * s.v.geo.blockSize} bytes) holds; make the image again with a larger one ('razorfs mkfs --journal-size')`,
    )
  const fields = liveFields(s)
  j.write(blocks, fields, listed)
  data.committed()
  s.committedFields = fields
  s.v.alloc.committed()
  writeHome(s, blocks)
  s.commits++
}

/** Make every committed transaction durable at home and empty the journal. */
export function checkpoint(s: ImageState): void {
  const j = s.journal
  if (!j || (j.used === 0 && s.checkpointedSeq === j.seq)) return
  s.v.dev.flush()
  j.emptied()
  writeSuper(s, false)
  s.v.dev.flush()
  s.v.alloc.checkpointed()
  s.checkpointedSeq = j.seq
}

/** Whether anything changed since the last commit (flush() has something to do). */
export function uncommitted(s: ImageState): boolean {
  return !s.readOnly && (s.store.dirtyCount > 0 || s.v.alloc.hasDirty)
}

/** Commit everything so far; when this returns it survives a crash. */
export function flush(s: ImageState): void {
  s.assertOpen()
  if (s.readOnly) return
  commit(s)
  if (!s.journal) {
    writeSuper(s, false)
    s.v.dev.flush()
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
export function reserve(s: ImageState, bytes: number, scope?: {ino: number; from: number; to: number}): void {
  const {alloc, geo} = s.v
  const need = Math.ceil(bytes / geo.blockSize) + RESERVE_SLACK
  // blocks held back for preallocated ranges are not free, but for an operation on them
  const cs = geo.clusterSize
  const held =
    s.prealloc.held -
    (scope && scope.to > scope.from
      ? s.prealloc.usable(scope.ino, Math.floor(scope.from / cs), Math.floor((scope.to - 1) / cs))
      : 0)
  if (alloc.available - held >= need) return
  commit(s)
  checkpoint(s)
  if (alloc.available - held < need)
    throw fail(
      'ENOSPC',
      `no space left in image: ${Math.max(0, alloc.available - held) * geo.blockSize} bytes free, about ${need * geo.blockSize} needed`,
    )
}

/** Commit once the running transaction is large (between the steps of one operation, or between operations). */
export function commitIfLarge(s: ImageState): void {
  const limit = s.journal
    ? Math.min(DEFAULT_CACHE_BLOCKS / 2, Math.floor(s.journal.size / 4))
    : DEFAULT_CACHE_BLOCKS / 2
  if (s.store.dirtyCount + s.v.alloc.dirtyCount > limit) commit(s)
}
