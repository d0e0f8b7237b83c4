/**
 * File data (e2fsprogs' fileio): reading a file or symlink, its extents,
 * writing, truncating, punching holes, fallocate with its preallocated
 * windows, and storing windows planned ahead (mkfs, cp). The format work is
 * fs/file-data.ts's; here are the checks, the space reservation, the times.
 */
import {fail} from '../errors.js'
import type {PlanSettings, WindowPlan} from '../fs/data-plan.js'
import {allExtents, decodeExtent, extentInfo, extentKey, extentsIn, MAX_FILE_SIZE, readData} from '../fs/extents.js'
import {
  planSettings as inodePlanSettings,
  punchData,
  truncateData,
  writeData,
  writePlannedWindow,
} from '../fs/file-data.js'
import {setTime} from '../fs/inode-table.js'
import {COMPRESSION_ZSTD} from '../format/extent.js'
import {S_IFDIR, S_IFLNK, S_IFMT, type ExtentInfo} from '../types.js'
import {RESERVE_SLACK, type ImageState} from './state.js'
import {checkpoint, commit, reserve} from './transaction.js'
import {settle, shrinkInSteps} from './unlinked.js'

const FALLOC_FL_KEEP_SIZE = 1
const FALLOC_FL_PUNCH_HOLE = 2
const FALLOC_FL_ZERO_RANGE = 0x10

export function read(s: ImageState, ino: number, offset: number, length: number): Buffer {
  const rec = s.inode(ino)
  if ((rec.mode & S_IFMT) === S_IFDIR) throw fail('EISDIR', `inode ${ino} is a directory`, {ino})
  return readData(s.v, ino, rec, offset, length)
}

export function readFile(s: ImageState, ino: number): Buffer {
  const rec = s.inode(ino)
  if ((rec.mode & S_IFMT) === S_IFDIR) throw fail('EISDIR', `inode ${ino} is a directory`, {ino})
  return readData(s.v, ino, rec, 0, rec.size)
}

export function readlink(s: ImageState, ino: number): Buffer {
  const rec = s.inode(ino)
  if ((rec.mode & S_IFMT) !== S_IFLNK) throw fail('EINVAL', `inode ${ino} is not a symbolic link`, {ino})
  return readData(s.v, ino, rec, 0, rec.size)
}

export function extents(s: ImageState, ino: number): ExtentInfo[] {
  s.inode(ino)
  return allExtents(s.v, ino).map((e) => extentInfo(s.v, e))
}

/**
 * The extents of a file that end after `from`, in order, at most `max` of
 * them: what a copy reads, batch by batch, so that memory stays bounded for
 * a file of any size and the rest (the holes) costs nothing. Collected
 * before returning, so the caller may change the image between batches.
 */
export function mappedRanges(s: ImageState, ino: number, from = 0, max = 1024): ExtentInfo[] {
  s.inode(ino)
  const out: ExtentInfo[] = []
  const start = Math.max(0, from - s.v.geo.clusterSize + 1)
  for (const [k, raw] of s.v.tree.range(extentKey(ino, start), extentKey(ino, MAX_FILE_SIZE))) {
    const e = decodeExtent(s.v, ino, k, raw)
    if (e.offset + e.rec.length <= from) continue
    out.push(extentInfo(s.v, e))
    if (out.length >= max) break
  }
  return out
}

export function write(s: ImageState, ino: number, offset: number, data: Buffer): void {
  s.assertWritable()
  s.regular(ino)
  if (!Number.isSafeInteger(offset) || offset < 0) throw fail('EINVAL', `bad offset ${offset}`)
  // the clusters at both ends are rewritten whole
  reserve(s, data.length + 2 * s.v.geo.clusterSize, {ino, from: offset, to: offset + data.length})
  const t = s.clock()
  s.modify(ino, (rec) => {
    writeData(s.v, ino, rec, offset, data)
    setTime(rec, 'mtime', t)
    setTime(rec, 'ctime', t)
  })
  written(s, ino, offset, offset + data.length)
  settle(s)
}

/** Preallocated windows of [from, to) that now hold data are reserved no more. */
function written(s: ImageState, ino: number, from: number, to: number): void {
  if (!s.prealloc.has(ino) || to <= from) return
  const cs = s.v.geo.clusterSize
  const first = Math.floor(from / cs)
  const last = Math.floor((to - 1) / cs)
  const data = new Set(extentsIn(s.v, ino, first * cs, (last + 1) * cs).map((e) => Math.floor(e.offset / cs)))
  s.prealloc.drop(ino, (i) => i >= first && i <= last && data.has(i))
}

export function truncate(s: ImageState, ino: number, size: number): void {
  s.assertWritable()
  s.regular(ino)
  if (!Number.isSafeInteger(size) || size < 0) throw fail('EINVAL', `bad size ${size}`)
  reserve(s, s.v.geo.clusterSize, {ino, from: size, to: size + 1})
  const t = s.clock()
  let old = 0
  shrinkInSteps(s, ino, size)
  s.modify(ino, (rec) => {
    old = rec.size
    truncateData(s.v, ino, rec, size)
    setTime(rec, 'mtime', t)
    setTime(rec, 'ctime', t)
  })
  // as ext4 frees the blocks past a shrunk end of file: windows wholly past it are reserved no more
  if (size < old) {
    const cs = s.v.geo.clusterSize
    s.prealloc.drop(ino, (i) => i * cs >= size)
  }
  settle(s)
}

/** Turn a byte range into a hole (fallocate PUNCH_HOLE|KEEP_SIZE). */
export function punchHole(s: ImageState, ino: number, offset: number, length: number): void {
  s.assertWritable()
  s.regular(ino)
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 1)
    throw fail('EINVAL', `bad range ${offset}+${length}`)
  reserve(s, 2 * s.v.geo.clusterSize, {ino, from: offset, to: offset + length})
  const t = s.clock()
  s.modify(ino, (rec) => {
    punchData(s.v, ino, rec, offset, length)
    setTime(rec, 'mtime', t)
    setTime(rec, 'ctime', t)
  })
  // a punched window is deallocated (as in ext4): its reservation ends
  const cs = s.v.geo.clusterSize
  s.prealloc.drop(ino, (i) => i * cs >= offset && (i + 1) * cs <= offset + length)
  settle(s)
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
export function fallocate(s: ImageState, ino: number, offset: number, length: number, mode = 0): void {
  s.assertWritable()
  s.regular(ino)
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
  if (op === FALLOC_FL_PUNCH_HOLE) return punchHole(s, ino, offset, length)
  const {geo, alloc} = s.v
  const cs = geo.clusterSize
  const end = offset + length
  const first = Math.floor(offset / cs)
  const last = Math.floor((end - 1) / cs)
  // windows that will hold data after the operation (ZERO_RANGE empties those it covers whole)
  const covered = (i: number) => op === FALLOC_FL_ZERO_RANGE && i * cs >= offset && (i + 1) * cs <= end
  const dataWins = new Set<number>()
  for (const e of extentsIn(s.v, ino, offset, end)) {
    const i = Math.floor(e.offset / cs)
    if (!covered(i)) dataWins.add(i)
  }
  const fresh = last - first + 1 - dataWins.size - s.prealloc.reservedIn(ino, first, last)
  const more = fresh * s.prealloc.perCluster + (fresh > 0 && !s.prealloc.has(ino) ? s.prealloc.perFile : 0)
  // and what the zeroing (windows at both ends rewritten) or the size change may use
  const need = more + Math.ceil((2 * cs) / geo.blockSize) + RESERVE_SLACK
  // every reservation stays; the zeroing may use this file's own allowance
  const room = () => alloc.available - s.prealloc.held + (s.prealloc.has(ino) ? s.prealloc.perFile : 0)
  if (room() < need) {
    commit(s)
    checkpoint(s)
    if (room() < need)
      throw fail(
        'ENOSPC',
        `no space left in image to preallocate ${length} bytes: ${Math.max(0, alloc.available - s.prealloc.held) * geo.blockSize} bytes free, about ${need * geo.blockSize} needed`,
        {ino},
      )
  }
  const t = s.clock()
  s.modify(ino, (rec) => {
    if (op === FALLOC_FL_ZERO_RANGE) {
      punchData(s.v, ino, rec, offset, length)
      setTime(rec, 'mtime', t)
    }
    if (!keep && end > rec.size) {
      truncateData(s.v, ino, rec, end)
      setTime(rec, 'mtime', t)
    }
    setTime(rec, 'ctime', t)
  })
  if (fresh > 0) {
    const holes: number[] = []
    const data = new Set(extentsIn(s.v, ino, offset, end).map((e) => Math.floor(e.offset / cs)))
    for (let i = first; i <= last; i++) if (!data.has(i)) holes.push(i)
    s.prealloc.add(ino, holes)
  }
  settle(s)
}

/** How data of a new file is planned: the image's compression (see data-plan.ts). */
export function defaultPlanSettings(s: ImageState): PlanSettings {
  s.assertOpen()
  return {
    blockSize: s.v.geo.blockSize,
    compress: s.v.sb.compression === COMPRESSION_ZSTD,
    level: s.v.sb.compressionLevel,
  }
}

/** How file data of an inode is planned (compression on, level, block size): see data-plan.ts. */
export function planSettings(s: ImageState, ino: number): PlanSettings {
  return inodePlanSettings(s.v, s.regular(ino))
}

/**
 * Store one cluster window of a regular file from a plan made ahead
 * (planWindow with this inode's planSettings, possibly in a worker thread).
 * The window starts on a cluster boundary and holds the file's whole
 * content there; the file grows to its end. Times are left as they are.
 */
export function writePrepared(s: ImageState, ino: number, offset: number, content: Buffer, plan: WindowPlan): void {
  s.assertWritable()
  s.regular(ino)
  if (!Number.isSafeInteger(offset) || offset < 0) throw fail('EINVAL', `bad offset ${offset}`)
  s.modify(ino, (rec) => writePlannedWindow(s.v, ino, rec, offset, content, plan))
  written(s, ino, offset, offset + content.length)
  settle(s)
}
