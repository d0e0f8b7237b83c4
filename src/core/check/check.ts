/**
 * The consistency check: every rule of FORMAT.md §13, read-only. Memory grows
 * with the number of inodes and directory entries plus one bit per block, not
 * with the image size in bytes. fsck runs it; the crash-simulation tests run
 * it on every recovered image.
 */
import {isRazorError} from '../errors.js'
import {decodeDirents, ftypeName} from '../format/dirent.js'
import {isFixedBlock} from '../format/geometry.js'
import {inodeRecord, ROOT_INO, type InodeRecord} from '../format/inode.js'
import {compareKeys, ItemType, nameHash, type Key} from '../format/keys.js'
import {isLeaf} from '../format/node.js'
import {decodeXattrs} from '../format/xattr.js'
import {blocksOf, decodeExtent, loadExtent} from '../fs/extents.js'
import {STORAGE_PACKED} from '../format/extent.js'
import {decodePack, loadSlice, packBlocks} from '../fs/packs.js'
import type {PackRecord} from '../format/pack.js'
import {fileTypeOfMode} from '../fs/inode-table.js'
import {XATTR_NAMESPACES} from '../fs/xattrs.js'
import type {FileType} from '../types.js'
import type {Volume} from '../fs/volume.js'
import {makeProblem, type Problem, type ProblemContext} from './problems.js'

export interface CheckOptions {
  /** Also verify every extent's data checksum. */
  checkData?: boolean
  /** Called when a pass starts (for progress display). */
  onPass?: (pass: string) => void
}

export interface CheckResult {
  problems: Problem[]
  inodes: number
  directories: number
  files: number
  usedBlocks: number
  blocks: number
}

interface InodeInfo {
  type: FileType
  nlink: number
  size: number
  parent: number
  allocBlocks: number
  counted: number
}

interface Entry {
  dir: number
  name: Buffer
  ino: number
  ftype: number
}

const DOT = Buffer.from('.')
const DOTDOT = Buffer.from('..')

export function checkVolume(v: Volume, opts: CheckOptions = {}): CheckResult {
  const problems: Problem[] = []
  const report = (name: string, ctx: ProblemContext) => problems.push(makeProblem(name, ctx))
  const {geo} = v
  const owned = new Uint8Array(Math.ceil(geo.blockCount / 8))
  const claim = (b: number, n: number, what: string, ino?: number) => {
    for (let x = b; x < b + n; x++) {
      if (isFixedBlock(geo, x) || x >= geo.blockCount) {
        report('BLOCK_IN_FIXED_AREA', {block: x, detail: what, ino})
        return
      }
      if (owned[x >> 3]! & (1 << (x & 7)))
        report('BLOCK_CLAIMED_TWICE', {block: x, detail: `${what} and another owner`, ino})
      owned[x >> 3]! |= 1 << (x & 7)
    }
  }
  const inodes = new Map<number, InodeInfo>()
  const entries: Entry[] = []
  const items: Array<{key: Key; value: Buffer}> = []

  // pass: tree — walk every node, checking levels and key bounds
  opts.onPass?.('tree')
  let depth = 0
  const walk = (block: number, level: number, lo: Key | undefined, hi: Key | undefined) => {
    let n
    try {
      n = v.tree.readNode(block, level)
    } catch (e) {
      if (!isRazorError(e)) throw e
      report('TREE_BLOCK_BAD', {block, detail: e.message})
      return
    }
    claim(block, 1, `tree block`)
    depth = Math.max(depth, level + 1)
    const keys = n.keys
    // every key at or above the bound the parent gives, and below the next one
    if (keys.length && ((lo && compareKeys(keys[0]!, lo) < 0) || (hi && compareKeys(keys[keys.length - 1]!, hi) >= 0)))
      report('TREE_KEY_ORDER', {block, detail: `level ${level}`})
    if (isLeaf(n)) {
      for (let i = 0; i < keys.length; i++) items.push({key: keys[i]!, value: n.values[i]!})
      return
    }
    for (let i = 0; i < n.children.length; i++)
      walk(n.children[i]!, level - 1, i === 0 ? lo : keys[i], i + 1 < keys.length ? keys[i + 1] : hi)
  }
  walk(v.tree.root, v.tree.height - 1, undefined, undefined)

  // pass: inodes, extents, xattrs — items arrive in key order: INODE first, then the inode's other items
  opts.onPass?.('extents')
  let cur: {ino: number; info?: InodeInfo; extEnd: number; packedAt?: number} = {ino: 0, extEnd: 0}
  // packs (FORMAT.md §10): PACK items by block, and the packed extents naming them
  const packs = new Map<number, PackRecord | undefined>()
  const packedRefs: Array<{ino: number; offset: number; block: number; start: number; length: number; crc: number}> = []
  let maxIno = 0
  // the orphan list: inodes unlinked while open, freed at the next read-write open
  const orphans = new Set<number>()
  for (const {key, value} of items) {
    if (key.objectid === 0 && key.type === ItemType.ORPHAN) {
      orphans.add(key.offset)
      continue
    }
    if (key.type === ItemType.PACK) {
      // objectid is a block number, not an inode
      let rec: PackRecord | undefined
      if (key.offset !== 0) report('PACK_BAD', {block: key.objectid, detail: `key offset ${key.offset}, not 0`})
      else {
        try {
          rec = decodePack(v, key.objectid, value)
        } catch (err) {
          if (!isRazorError(err)) throw err
          report('PACK_BAD', {block: key.objectid, detail: err.message.replace(/^pack at block \d+: /, '')})
        }
      }
      packs.set(key.objectid, rec)
      continue
    }
    const ino = key.objectid
    if (ino !== cur.ino) cur = {ino, info: inodes.get(ino), extEnd: 0}
    if (key.type === ItemType.INODE) {
      maxIno = Math.max(maxIno, ino)
      if (value.length !== inodeRecord.size || key.offset !== 0) {
        report('INODE_BAD', {ino, detail: `record of ${value.length} bytes`})
        continue
      }
      let rec: InodeRecord
      try {
        rec = inodeRecord.decode(value)
      } catch {
        report('INODE_BAD', {ino, detail: 'field out of range'})
        continue
      }
      const type = fileTypeOfMode(rec.mode)
      if (!type) {
        report('INODE_BAD', {ino, detail: `invalid mode 0${rec.mode.toString(8)}`})
        continue
      }
      for (const t of ['atime', 'mtime', 'ctime', 'crtime'] as const)
        if (rec[`${t}Nsec`] >= 1e9)
          report('INODE_BAD', {ino, detail: `${t} nanoseconds ${rec[`${t}Nsec`]} out of range`})
      cur.info = {type, nlink: rec.nlink, size: rec.size, parent: rec.parent, allocBlocks: rec.allocBlocks, counted: 0}
      inodes.set(ino, cur.info)
      if (ino >= v.sb.nextIno) report('INO_ABOVE_NEXT', {ino, found: v.sb.nextIno})
      continue
    }
    const kind =
      {[ItemType.DIRENT]: 'directory entry', [ItemType.EXTENT]: 'extent', [ItemType.XATTR]: 'xattr'}[key.type] ??
      `type ${key.type}`
    if (!cur.info) {
      report('ITEM_ORPHANED', {ino, detail: kind})
      continue
    }
    const info = cur.info
    if (key.type === ItemType.DIRENT) {
      if (info.type !== 'dir') {
        report('ENTRY_ON_NON_DIR', {ino})
        continue
      }
      const list = decodeDirents(value)
      if (!list) {
        report('ITEM_BAD', {ino, detail: kind})
        continue
      }
      for (const e of list) {
        if (e.name.includes(0x2f) || e.name.includes(0) || e.name.equals(DOT) || e.name.equals(DOTDOT)) {
          report('DIRENT_BAD_NAME', {ino, name: e.name.toString('utf8')})
          continue
        }
        if (nameHash(e.name) !== key.offset) report('DIRENT_HASH', {ino, name: e.name.toString('utf8')})
        entries.push({dir: ino, name: e.name, ino: e.ino, ftype: e.ftype})
      }
    } else if (key.type === ItemType.EXTENT) {
      if (info.type !== 'file' && info.type !== 'symlink') {
        report('EXTENT_BAD', {ino, detail: `extent on a ${info.type}`})
        continue
      }
      let e
      try {
        e = decodeExtent(v, ino, key, value)
      } catch (err) {
        if (!isRazorError(err)) throw err
        report('EXTENT_BAD', {ino, detail: err.message.replace(/^inode \d+: /, '')})
        continue
      }
      if (e.offset < cur.extEnd) report('EXTENT_BAD', {ino, detail: `extent at ${e.offset} overlaps the previous one`})
      cur.extEnd = e.offset + e.rec.length
      if (cur.packedAt !== undefined)
        report('PACKED_EXTENT_BAD', {
          ino,
          found: cur.packedAt,
          detail: `not the last extent (one follows at ${e.offset})`,
        })
      cur.packedAt = undefined
      if (e.rec.storage === STORAGE_PACKED) {
        cur.packedAt = e.offset
        packedRefs.push({
          ino,
          offset: e.offset,
          block: e.rec.block,
          start: e.rec.stored,
          length: e.rec.length,
          crc: e.rec.crc,
        })
      }
      if (e.offset + e.rec.length > Math.ceil(info.size / geo.blockSize) * geo.blockSize)
        report('EXTENT_PAST_EOF', {ino, found: e.offset, expected: info.size})
      const n = blocksOf(v, e)
      if (n) {
        claim(e.rec.block, n, `inode ${ino}`, ino)
        info.counted += n
      }
      if (opts.checkData && e.rec.storage !== STORAGE_PACKED) {
        try {
          loadExtent(v, ino, e)
        } catch (err) {
          if (!isRazorError(err)) throw err
          report('DATA_CHECKSUM', {ino, found: e.offset, block: e.rec.block})
        }
      }
    } else if (key.type === ItemType.XATTR) {
      const list = decodeXattrs(value)
      if (!list) {
        report('XATTR_BAD', {ino, detail: 'item malformed'})
        continue
      }
      for (const x of list) {
        const name = x.name.toString('utf8')
        if (!XATTR_NAMESPACES.some((ns) => name.startsWith(ns)))
          report('XATTR_BAD', {ino, detail: `'${name}' has no known namespace`})
        if (nameHash(x.name) !== key.offset) report('XATTR_BAD', {ino, detail: `'${name}' stored under the wrong hash`})
        if (x.block !== undefined) {
          const n = Math.ceil(x.valueLen / geo.blockSize)
          if (x.block < geo.firstFree || x.block + n > geo.backupSuperblock)
            report('XATTR_BAD', {ino, detail: `'${name}' value outside the data area`})
          else {
            claim(x.block, n, `inode ${ino} xattr`, ino)
            info.counted += n
          }
        }
      }
    } else report('ITEM_BAD', {ino, detail: kind})
  }
  // packs: every packed extent names a pack it fits in; refs; blocks owned
  const counted = new Map<number, number>()
  for (const r of packedRefs) {
    if (!packs.has(r.block)) {
      report('PACKED_EXTENT_BAD', {ino: r.ino, found: r.offset, detail: `names pack ${r.block}, which does not exist`})
      continue
    }
    const p = packs.get(r.block)
    if (!p) {
      report('PACKED_EXTENT_BAD', {ino: r.ino, found: r.offset, detail: `names pack ${r.block}, which is unreadable`})
      continue
    }
    counted.set(r.block, (counted.get(r.block) ?? 0) + 1)
    if (r.start + r.length > p.length)
      report('PACKED_EXTENT_BAD', {
        ino: r.ino,
        found: r.offset,
        detail: `slice ${r.start}+${r.length} lies outside pack ${r.block} of ${p.length} bytes`,
      })
    else if (opts.checkData) {
      try {
        loadSlice(v, r.ino, r.offset, r.block, r.start, r.length, r.crc)
      } catch (err) {
        if (!isRazorError(err)) throw err
        report('DATA_CHECKSUM', {ino: r.ino, found: r.offset, block: r.block})
      }
    }
  }
  for (const [block, p] of packs) {
    if (!p) continue
    claim(block, packBlocks(v, p), `pack at block ${block}`)
    const n = counted.get(block) ?? 0
    if (n === 0) report('PACK_UNREFERENCED', {block})
    else if (p.refs !== n) report('PACK_REFS_WRONG', {block, found: p.refs, expected: n})
  }
  if (depth !== v.tree.height && problems.every((p) => p.id !== 'TREE_BLOCK_BAD'))
    report('TREE_HEIGHT', {found: depth, expected: v.tree.height})

  // pass: directories — entries point at live inodes of the right type; one name per directory; reachability
  opts.onPass?.('directories')
  const root = inodes.get(ROOT_INO)
  if (!root || root.type !== 'dir') report('ROOT_MISSING', {})
  const refs = new Map<number, number>()
  const subdirs = new Map<number, number>()
  const entryCount = new Map<number, number>()
  const namedIn = new Map<number, number>()
  const children = new Map<number, number[]>()
  for (const e of entries) {
    entryCount.set(e.dir, (entryCount.get(e.dir) ?? 0) + 1)
    const target = inodes.get(e.ino)
    if (!target) {
      report('DIRENT_TO_MISSING', {ino: e.dir, name: e.name.toString('utf8'), found: e.ino})
      continue
    }
    if (ftypeName(e.ftype) !== target.type)
      report('DIRENT_TYPE', {
        ino: e.dir,
        name: e.name.toString('utf8'),
        found: ftypeName(e.ftype) ?? e.ftype,
        expected: target.type,
      })
    refs.set(e.ino, (refs.get(e.ino) ?? 0) + 1)
    if (!children.has(e.dir)) children.set(e.dir, [])
    children.get(e.dir)!.push(e.ino)
    if (target.type === 'dir') {
      subdirs.set(e.dir, (subdirs.get(e.dir) ?? 0) + 1)
      if (e.ino === ROOT_INO || namedIn.has(e.ino))
        report('DIR_MULTIPLY_LINKED', {ino: e.dir, name: e.name.toString('utf8'), found: e.ino})
      else namedIn.set(e.ino, e.dir)
    }
  }
  const reached = new Set<number>([ROOT_INO])
  const queue = [ROOT_INO]
  while (queue.length) {
    const d = queue.pop()!
    for (const c of children.get(d) ?? []) {
      if (reached.has(c)) continue
      reached.add(c)
      if (inodes.get(c)?.type === 'dir') queue.push(c)
    }
  }
  for (const o of orphans) if (!inodes.has(o)) report('ITEM_ORPHANED', {ino: o, detail: 'orphan list'})
  for (const [ino, info] of inodes) {
    if (orphans.has(ino) && info.nlink === 0) continue
    if (info.type === 'dir') {
      const expectedParent = ino === ROOT_INO ? ROOT_INO : namedIn.get(ino)
      if (expectedParent !== undefined && info.parent !== expectedParent)
        report('DIR_PARENT_WRONG', {ino, found: info.parent, expected: expectedParent})
    }
    if (!reached.has(ino)) {
      let cycle = false
      if (info.type === 'dir') {
        const seen = new Set<number>()
        for (let p: number | undefined = ino; p !== undefined && p !== ROOT_INO; p = namedIn.get(p)) {
          if (seen.has(p)) {
            cycle = true
            break
          }
          seen.add(p)
        }
      }
      report(cycle ? 'DIR_CYCLE' : 'UNREACHABLE', {ino})
    }
  }

  // pass: link counts and directory sizes
  opts.onPass?.('links')
  let dirs = 0
  let files = 0
  for (const [ino, info] of inodes) {
    const expected = info.type === 'dir' ? 2 + (subdirs.get(ino) ?? 0) : (refs.get(ino) ?? 0)
    if (info.nlink !== expected && reached.has(ino)) report('NLINK_WRONG', {ino, found: info.nlink, expected})
    if (info.type === 'dir') {
      dirs++
      const n = entryCount.get(ino) ?? 0
      if (info.size !== n) report('DIR_SIZE_WRONG', {ino, found: info.size, expected: n})
    } else files++
    if (info.allocBlocks !== info.counted)
      report('ALLOC_BLOCKS_WRONG', {ino, found: info.allocBlocks, expected: info.counted})
  }
  if (v.sb.inodeCount !== inodes.size)
    report('SB_COUNT_WRONG', {detail: 'inode count', found: v.sb.inodeCount, expected: inodes.size})
  if (maxIno >= v.sb.nextIno) report('SB_NEXT_INO_LOW', {ino: maxIno, found: v.sb.nextIno})

  // pass: free space — the bitmap against what is in use
  opts.onPass?.('space')
  let used = 0
  let unmarkedFirst = -1
  let strayCount = 0
  let strayFirst = -1
  const badMaps = new Set<number>()
  const per = (geo.blockSize - 48) * 8
  for (let b = 0; b < geo.blockCount; b++) {
    const fixed = isFixedBlock(geo, b)
    const own = fixed || (owned[b >> 3]! & (1 << (b & 7))) !== 0
    let marked: boolean
    const m = Math.floor(b / per)
    if (badMaps.has(m)) marked = own
    else {
      try {
        marked = v.alloc.isUsed(b)
      } catch (e) {
        if (!isRazorError(e)) throw e
        badMaps.add(m)
        report('BITMAP_BAD', {block: geo.bitmapStart + m, detail: e.message})
        marked = own
      }
    }
    if (marked) used++
    if (own && !marked) {
      if (unmarkedFirst < 0) unmarkedFirst = b
      report('BLOCK_USED_NOT_MARKED', {block: b})
    } else if (!own && marked) {
      strayCount++
      if (strayFirst < 0) strayFirst = b
    }
  }
  if (strayCount) report('BLOCK_MARKED_NOT_USED', {found: strayCount, block: strayFirst})
  const free = geo.blockCount - used
  if (v.alloc.freeBlocks !== free && !badMaps.size)
    report('SB_COUNT_WRONG', {detail: 'free block count', found: v.alloc.freeBlocks, expected: free})
  return {problems, inodes: inodes.size, directories: dirs, files, usedBlocks: used, blocks: geo.blockCount}
}
