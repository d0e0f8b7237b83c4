/**
 * Repair: rebuild a consistent filesystem from everything still readable.
 * Every item of every readable tree node (and of lost leaves: blocks marked
 * used, owned by nothing, that verify as leaves of this image) is collected;
 * bad items are dropped or fixed, directories are reconnected, counts are
 * recomputed; then a new tree is written, the bitmap is rebuilt from what is
 * in use, and the superblock switched over last. All data that is still
 * reachable stays where it is.
 *
 * The new tree is packed full (items are inserted in key order) and goes into
 * free blocks while there are any — then the old tree stays intact until the
 * switch. On a full image it goes into the blocks of the old tree, whose
 * items were all read in step 1 and are never read again: repair needs no
 * space beyond what the damaged image already uses (fsck runs it under the
 * undo log, which keeps the old blocks and rolls everything back unless the
 * result checks clean).
 */
import {Allocator, type Run} from '../tree/allocator.js'
import {BTree} from '../tree/btree.js'
import {isRazorError} from '../errors.js'
import {decodeDirents, encodeDirents, ftypeCode, ftypeName, type DirentRecord} from '../format/dirent.js'
import {blocksOf, decodeExtent, type Extent} from '../fs/extents.js'
import {STORAGE_PACKED} from '../format/extent.js'
import {packKey, packRecord, type PackRecord} from '../format/pack.js'
import {decodePack, packBlocks} from '../fs/packs.js'
import {isFixedBlock} from '../format/geometry.js'
import {blockProblem, BlockType} from '../format/header.js'
import {inodeRecord, ROOT_INO, type InodeRecord} from '../format/inode.js'
import {compareKeys, ItemType, nameHash, type Key} from '../format/keys.js'
import {decodeNode, isLeaf} from '../format/node.js'
import {decodeXattrs, encodeXattrs, type XattrRecord} from '../format/xattr.js'
import {fileTypeOfMode, newInode} from '../fs/inode-table.js'
import {NodeStore} from '../tree/node-store.js'
import {S_IFDIR, S_IFMT, type FileType} from '../types.js'
import type {Volume} from '../fs/volume.js'
import {XATTR_NAMESPACES} from '../fs/xattrs.js'

/** One change repair makes (or, in a dry run, would make). */
export interface RepairAction {
  /** The problem it answers. */
  problem: string
  ino?: number
  block?: number
  field?: string
  old?: string | number
  new?: string | number
  what: string
}

interface Node {
  rec: InodeRecord
  type: FileType
  dirents: DirentRecord[]
  extents: Array<{key: Key; value: Buffer; e: Extent}>
  xattrs: XattrRecord[]
}

export interface RepairResult {
  actions: RepairAction[]
  /** Blocks the rebuilt tree and bitmap occupy (written unless dry run). */
  treeBlocks: number
  bitmapBlocks: number
  superblock: {inodeCount: number; nextIno: number; freeBlocks: number; treeRoot: number; treeHeight: number}
}

const LOST_FOUND = Buffer.from('lost+found')

/**
 * The allocator of a repair: when no block is free it hands out, one at a
 * time, blocks of the old tree (`spare`), all of whose items are already in
 * memory. They are still marked used, so nothing else can take them.
 */
class RepairAllocator extends Allocator {
  spare: number[] = []

  override alloc(want: number, min = 1): Run {
    try {
      return super.alloc(want, min)
    } catch (e) {
      if (!isRazorError(e) || e.code !== 'ENOSPC' || min > 1 || !this.spare.length) throw e
      return {start: this.spare.pop()!, count: 1}
    }
  }
}

export function repairVolume(v: Volume, opts: {dryRun?: boolean; time: {sec: number; nsec: number}}): RepairResult {
  const actions: RepairAction[] = []
  const act = (a: RepairAction) => actions.push(a)
  const {geo} = v

  // 1. collect items from every readable node, remembering the tree blocks
  const items = new Map<string, {key: Key; value: Buffer}>()
  const keyStr = (k: Key) => `${k.objectid}:${k.type}:${k.offset}`
  const treeBlocks = new Set<number>()
  const walk = (block: number, level: number) => {
    if (treeBlocks.has(block)) return
    let n
    try {
      n = v.tree.readNode(block, level)
    } catch (e) {
      if (!isRazorError(e)) throw e
      return
    }
    treeBlocks.add(block)
    if (isLeaf(n)) n.keys.forEach((k, i) => items.set(keyStr(k), {key: k, value: n.values[i]!}))
    else n.children.forEach((c) => walk(c, level - 1))
  }
  walk(v.tree.root, v.tree.height - 1)
  // lost leaves: marked used, owned by no reachable structure, verifying as our leaves
  const dataOwned = new Set<number>()
  for (const {key, value} of items.values()) {
    if (key.type === ItemType.PACK) {
      try {
        const p = decodePack(v, key.objectid, value)
        for (let b = key.objectid; b < key.objectid + packBlocks(v, p); b++) dataOwned.add(b)
      } catch {
        // judged below
      }
      continue
    }
    if (key.type !== ItemType.EXTENT) continue
    try {
      const e = decodeExtent(v, key.objectid, key, value)
      for (let b = e.rec.block; b < e.rec.block + blocksOf(v, e); b++) dataOwned.add(b)
    } catch {
      // judged below
    }
  }
  for (let b = geo.firstFree; b < geo.backupSuperblock; b++) {
    if (treeBlocks.has(b) || dataOwned.has(b)) continue
    let used: boolean
    try {
      used = v.alloc.isUsed(b)
    } catch {
      used = true
    }
    if (!used) continue
    const raw = v.dev.read(b * geo.blockSize, geo.blockSize)
    if (blockProblem(raw, {blocknr: b, uuid: v.uuid, type: BlockType.LEAF, level: 0})) continue
    try {
      const leaf = decodeNode(raw, b, v.uuid, 0)
      if (!isLeaf(leaf)) continue
      let added = 0
      leaf.keys.forEach((k, i) => {
        if (!items.has(keyStr(k))) {
          items.set(keyStr(k), {key: k, value: leaf.values[i]!})
          added++
        }
      })
      if (added) act({problem: 'TREE_BLOCK_BAD', block: b, what: `recovered ${added} items from lost leaf ${b}`})
    } catch {
      // not a usable leaf
    }
  }

  // 2. group by inode, dropping what cannot be decoded
  const nodes = new Map<number, Node>()
  const sorted = [...items.values()].sort((a, b) => compareKeys(a.key, b.key))
  for (const {key, value} of sorted) {
    if (key.type !== ItemType.INODE) continue
    const ino = key.objectid
    let rec: InodeRecord | undefined
    try {
      rec = value.length === inodeRecord.size ? inodeRecord.decode(value) : undefined
    } catch {
      rec = undefined
    }
    const type = rec && fileTypeOfMode(rec.mode)
    if (!rec || !type || ino < 1) {
      act({problem: 'INODE_BAD', ino, what: `cleared inode ${ino} (unreadable record)`})
      continue
    }
    for (const t of ['atime', 'mtime', 'ctime', 'crtime'] as const) {
      if (rec[`${t}Nsec`] >= 1e9) {
        act({
          problem: 'INODE_BAD',
          ino,
          field: `${t}.nsec`,
          old: rec[`${t}Nsec`],
          new: 0,
          what: `inode ${ino}: ${t} nanoseconds reset`,
        })
        rec[`${t}Nsec`] = 0
      }
    }
    nodes.set(ino, {rec, type, dirents: [], extents: [], xattrs: []})
  }
  // packs (FORMAT.md §10): objectid is the pack's first block
  const packs = new Map<number, {rec: PackRecord; refs: number}>()
  for (const {key, value} of sorted) {
    if (key.type !== ItemType.PACK) continue
    try {
      if (key.offset !== 0) throw new Error(`key offset ${key.offset}, not 0`)
      packs.set(key.objectid, {rec: decodePack(v, key.objectid, value), refs: 0})
    } catch (e) {
      act({
        problem: 'PACK_BAD',
        block: key.objectid,
        what: `removed pack at block ${key.objectid}: ${(e as Error).message.replace(/^pack at block \d+: /, '')}`,
      })
    }
  }
  for (const {key, value} of sorted) {
    if (key.type === ItemType.INODE || key.type === ItemType.PACK) continue
    const ino = key.objectid
    const node = nodes.get(ino)
    const kind =
      ({2: 'directory entry', 3: 'extent', 4: 'xattr'} as Record<number, string>)[key.type] ?? `type ${key.type}`
    if (!node) {
      act({problem: 'ITEM_ORPHANED', ino, what: `removed ${kind} item of missing inode ${ino}`})
      continue
    }
    if (key.type === ItemType.DIRENT) {
      if (node.type !== 'dir') {
        act({problem: 'ENTRY_ON_NON_DIR', ino, what: `removed directory entries from non-directory ${ino}`})
        continue
      }
      const list = decodeDirents(value)
      if (!list) {
        act({problem: 'ITEM_BAD', ino, what: `removed malformed directory entry item of ${ino}`})
        continue
      }
      for (const d of list) {
        const name = d.name
        if (
          name.includes(0x2f) ||
          name.includes(0) ||
          name.equals(Buffer.from('.')) ||
          name.equals(Buffer.from('..'))
        ) {
          act({
            problem: 'DIRENT_BAD_NAME',
            ino,
            what: `removed entry with invalid name '${name}' from directory ${ino}`,
          })
          continue
        }
        if (nameHash(name) !== key.offset)
          act({problem: 'DIRENT_HASH', ino, what: `moved entry '${name}' of directory ${ino} under its hash`})
        if (node.dirents.some((x) => x.name.equals(name))) {
          act({problem: 'DIRENT_HASH', ino, what: `removed duplicate entry '${name}' from directory ${ino}`})
          continue
        }
        node.dirents.push({...d})
      }
    } else if (key.type === ItemType.EXTENT) {
      if (node.type !== 'file' && node.type !== 'symlink') {
        act({problem: 'EXTENT_BAD', ino, what: `removed extent from ${node.type} ${ino}`})
        continue
      }
      try {
        node.extents.push({key, value, e: decodeExtent(v, ino, key, value)})
      } catch (e) {
        if (!isRazorError(e)) throw e
        act({
          problem: 'EXTENT_BAD',
          ino,
          what: `removed extent at ${key.offset} of inode ${ino}: ${e.message.replace(/^inode \d+: /, '')}`,
        })
      }
    } else if (key.type === ItemType.XATTR) {
      const list = decodeXattrs(value)
      if (!list) {
        act({problem: 'XATTR_BAD', ino, what: `removed malformed xattr item of inode ${ino}`})
        continue
      }
      for (const x of list) {
        const name = x.name.toString('utf8')
        const n = x.block === undefined ? 0 : Math.ceil(x.valueLen / geo.blockSize)
        if (
          !XATTR_NAMESPACES.some((ns) => name.startsWith(ns)) ||
          (n && (x.block! < geo.firstFree || x.block! + n > geo.backupSuperblock))
        ) {
          act({problem: 'XATTR_BAD', ino, what: `removed xattr '${name}' of inode ${ino}`})
          continue
        }
        if (node.xattrs.some((y) => y.name.equals(x.name))) continue
        node.xattrs.push(x)
      }
    } else act({problem: 'ITEM_BAD', ino, what: `removed item of unknown type ${key.type}`})
  }

  // 3. extents: within the file, no overlap, no block claimed twice (the later claimant is dropped... or cloned below)
  const claimed = new Map<number, number>() // block -> ino (0: a pack)
  const clones: Array<{ino: number; ext: Node['extents'][number]}> = []
  // pack blocks first (packs in block order; one overlapping an earlier pack is dropped with its extents)
  for (const block of [...packs.keys()].sort((a, b) => a - b)) {
    const n = packBlocks(v, packs.get(block)!.rec)
    let clash = false
    for (let b = block; b < block + n; b++) if (claimed.has(b)) clash = true
    if (clash) {
      packs.delete(block)
      act({
        problem: 'BLOCK_CLAIMED_TWICE',
        block,
        what: `removed pack at block ${block} (its blocks belong to another pack)`,
      })
      continue
    }
    for (let b = block; b < block + n; b++) claimed.set(b, 0)
  }
  for (const [ino, node] of nodes) {
    let end = 0
    const kept: Node['extents'] = []
    const limit = Math.ceil(node.rec.size / geo.blockSize) * geo.blockSize
    for (const x of node.extents) {
      if (x.e.offset < end) {
        act({
          problem: 'EXTENT_BAD',
          ino,
          what: `removed extent at ${x.e.offset} of inode ${ino} (overlaps the previous one)`,
        })
        continue
      }
      if (x.e.offset + x.e.rec.length > limit) {
        act({
          problem: 'EXTENT_PAST_EOF',
          ino,
          what: `removed extent at ${x.e.offset} of inode ${ino} (past the size ${node.rec.size})`,
        })
        continue
      }
      if (x.e.rec.storage === STORAGE_PACKED) {
        const p = packs.get(x.e.rec.block)
        const why = !p
          ? `pack ${x.e.rec.block} is missing or unreadable`
          : x.e.rec.stored + x.e.rec.length > p.rec.length
            ? `its slice lies outside pack ${x.e.rec.block}`
            : x !== node.extents[node.extents.length - 1]
              ? 'it is not the last extent'
              : undefined
        if (why) {
          act({
            problem: 'PACKED_EXTENT_BAD',
            ino,
            what: `removed packed extent at ${x.e.offset} of inode ${ino} (${why}): its range is now a hole`,
          })
          continue
        }
        p!.refs++
      }
      const n = blocksOf(v, x.e)
      let shared = false
      for (let b = x.e.rec.block; b < x.e.rec.block + n; b++) if (claimed.has(b) || isFixedBlock(geo, b)) shared = true
      if (shared) clones.push({ino, ext: x})
      else for (let b = x.e.rec.block; b < x.e.rec.block + n; b++) claimed.set(b, ino)
      end = x.e.offset + x.e.rec.length
      kept.push(x)
    }
    node.extents = kept
    for (const x of node.xattrs) {
      if (x.block === undefined) continue
      const n = Math.ceil(x.valueLen / geo.blockSize)
      for (let b = x.block; b < x.block + n; b++) claimed.set(b, ino)
    }
  }

  // 4. directories: root, one name per directory, entries to live inodes of the right type
  let nextIno = Math.max(v.sb.nextIno, ...[...nodes.keys()].map((i) => i + 1))
  const root = nodes.get(ROOT_INO)
  if (!root || root.type !== 'dir') {
    if (root)
      act({
        problem: 'ROOT_MISSING',
        ino: ROOT_INO,
        what: `inode 1 is a ${root.type}, not a directory: replaced by a new root (its data is lost)`,
      })
    else act({problem: 'ROOT_MISSING', ino: ROOT_INO, what: 'created a new root directory'})
    const rec = newInode(S_IFDIR | 0o755, opts.time, v.sb.generation)
    rec.parent = ROOT_INO
    nodes.set(ROOT_INO, {rec, type: 'dir', dirents: [], extents: [], xattrs: []})
  }
  const namedIn = new Map<number, number>()
  for (const [dir, node] of nodes) {
    if (node.type !== 'dir') continue
    node.dirents = node.dirents.filter((d) => {
      const target = nodes.get(d.ino)
      if (!target) {
        act({
          problem: 'DIRENT_TO_MISSING',
          ino: dir,
          what: `removed entry '${d.name}' of directory ${dir} (inode ${d.ino} does not exist)`,
        })
        return false
      }
      if (ftypeName(d.ftype) !== target.type) {
        act({
          problem: 'DIRENT_TYPE',
          ino: dir,
          field: `'${d.name}'.type`,
          old: ftypeName(d.ftype) ?? d.ftype,
          new: target.type,
          what: `entry '${d.name}' of directory ${dir}: type set to ${target.type}`,
        })
        d.ftype = ftypeCode(target.type)
      }
      if (target.type === 'dir') {
        if (d.ino === ROOT_INO || namedIn.has(d.ino)) {
          act({
            problem: 'DIR_MULTIPLY_LINKED',
            ino: dir,
            what: `removed extra entry '${d.name}' of directory ${d.ino} from directory ${dir}`,
          })
          return false
        }
        namedIn.set(d.ino, dir)
      }
      return true
    })
  }
  // reachability; reconnect what is not reachable under /lost+found
  let lostFound: number | undefined
  const ensureLostFound = (): number => {
    if (lostFound !== undefined) return lostFound
    const rootNode = nodes.get(ROOT_INO)!
    const existing = rootNode.dirents.find((d) => d.name.equals(LOST_FOUND))
    if (existing && nodes.get(existing.ino)?.type === 'dir') return (lostFound = existing.ino)
    const ino = nextIno++
    const rec = newInode(S_IFDIR | 0o700, opts.time, v.sb.generation)
    rec.parent = ROOT_INO
    nodes.set(ino, {rec, type: 'dir', dirents: [], extents: [], xattrs: []})
    rootNode.dirents.push({
      ino,
      ftype: ftypeCode('dir'),
      name: existing ? Buffer.from(`lost+found.${ino}`) : LOST_FOUND,
    })
    namedIn.set(ino, ROOT_INO)
    act({problem: 'UNREACHABLE', ino, what: 'created /lost+found'})
    return (lostFound = ino)
  }
  const reachable = (): Set<number> => {
    const seen = new Set<number>([ROOT_INO])
    const stack = [ROOT_INO]
    while (stack.length) {
      const d = stack.pop()!
      for (const e of nodes.get(d)!.dirents) {
        if (seen.has(e.ino)) continue
        seen.add(e.ino)
        if (nodes.get(e.ino)!.type === 'dir') stack.push(e.ino)
      }
    }
    return seen
  }
  for (let round = 0; round < 3; round++) {
    const seen = reachable()
    const lost = [...nodes.keys()].filter((i) => !seen.has(i))
    if (!lost.length) break
    for (const ino of lost) {
      const node = nodes.get(ino)!
      if (node.type === 'dir') {
        const namer = namedIn.get(ino)
        // a directory named inside the unreachable part: cut that entry (it may close a cycle)
        if (namer !== undefined && !seen.has(namer)) {
          const p = nodes.get(namer)!
          p.dirents = p.dirents.filter((d) => d.ino !== ino)
          act({
            problem: 'DIR_CYCLE',
            ino,
            what: `removed the entry of directory ${ino} from unreachable directory ${namer}`,
          })
        } else if (namer !== undefined) continue
      } else {
        // a file named somewhere unreachable becomes reachable when that directory is reconnected
        const namedByLost = [...nodes.values()].some((n) => n.type === 'dir' && n.dirents.some((d) => d.ino === ino))
        if (namedByLost) continue
      }
      const lf = ensureLostFound()
      nodes.get(lf)!.dirents.push({ino, ftype: ftypeCode(node.type), name: Buffer.from(`#${ino}`)})
      if (node.type === 'dir') namedIn.set(ino, lf)
      act({problem: 'UNREACHABLE', ino, what: `reconnected inode ${ino} as /lost+found/#${ino}`})
    }
  }

  // 5. counts: nlink, directory size and parent, allocated blocks
  const refs = new Map<number, number>()
  const subdirs = new Map<number, number>()
  for (const [dir, node] of nodes) {
    if (node.type !== 'dir') continue
    for (const d of node.dirents) {
      refs.set(d.ino, (refs.get(d.ino) ?? 0) + 1)
      if (nodes.get(d.ino)!.type === 'dir') {
        subdirs.set(dir, (subdirs.get(dir) ?? 0) + 1)
        namedIn.set(d.ino, dir)
      }
    }
  }
  const set = (
    ino: number,
    rec: InodeRecord,
    field: 'nlink' | 'size' | 'parent' | 'allocBlocks',
    value: number,
    problem: string,
  ) => {
    if (rec[field] === value) return
    act({problem, ino, field, old: rec[field], new: value, what: `inode ${ino}: ${field} ${rec[field]} → ${value}`})
    rec[field] = value
  }
  for (const [ino, node] of nodes) {
    const {rec} = node
    if (node.type === 'dir') {
      set(ino, rec, 'nlink', 2 + (subdirs.get(ino) ?? 0), 'NLINK_WRONG')
      set(ino, rec, 'size', node.dirents.length, 'DIR_SIZE_WRONG')
      set(ino, rec, 'parent', ino === ROOT_INO ? ROOT_INO : (namedIn.get(ino) ?? ROOT_INO), 'DIR_PARENT_WRONG')
    } else set(ino, rec, 'nlink', refs.get(ino) ?? 0, 'NLINK_WRONG')
    if ((rec.mode & S_IFMT) !== S_IFDIR && node.type === 'dir') rec.mode = (rec.mode & 0o7777) | S_IFDIR
    const blocks =
      node.extents.reduce((n, x) => n + blocksOf(v, x.e), 0) +
      node.xattrs.reduce((n, x) => n + (x.block === undefined ? 0 : Math.ceil(x.valueLen / geo.blockSize)), 0)
    set(ino, rec, 'allocBlocks', blocks, 'ALLOC_BLOCKS_WRONG')
  }
  for (const [block, p] of packs) {
    if (p.refs === 0) {
      packs.delete(block)
      for (let b = block; b < block + packBlocks(v, p.rec); b++) claimed.delete(b)
      act({problem: 'PACK_UNREFERENCED', block, what: `freed pack at block ${block} (named by no extent)`})
    } else if (p.refs !== p.rec.refs) {
      act({
        problem: 'PACK_REFS_WRONG',
        block,
        field: 'refs',
        old: p.rec.refs,
        new: p.refs,
        what: `pack at block ${block}: refs ${p.rec.refs} → ${p.refs}`,
      })
      p.rec.refs = p.refs
    }
  }

  // 6. build: a fresh allocator with the data in use; clones for shared blocks; a new tree; the bitmap
  const alloc = RepairAllocator.fresh(v.dev, geo, v.uuid)
  const markRange = (b: number, n: number) => {
    for (let x = b; x < b + n; x++) if (!isFixedBlock(geo, x) && !alloc.isUsed(x)) alloc.markUsed(x, 1)
  }
  for (const [b] of claimed) markRange(b, 1)
  // keep the old tree intact until the switch while there is free space; when there is none, reuse its blocks
  for (const b of treeBlocks) markRange(b, 1)
  alloc.spare = [...treeBlocks].filter((b) => !claimed.has(b) && !isFixedBlock(geo, b)).sort((a, b) => b - a)
  for (const {ino, ext} of clones) {
    const n = blocksOf(v, ext.e)
    let run: Run
    try {
      run = alloc.alloc(n, n)
    } catch (e) {
      if (!isRazorError(e) || e.code !== 'ENOSPC') throw e
      // a full image with no room for the copy: the later claimant loses the extent (its range becomes a hole)
      const node = nodes.get(ino)!
      node.extents = node.extents.filter((x) => x !== ext)
      act({
        problem: 'BLOCK_CLAIMED_TWICE',
        ino,
        block: ext.e.rec.block,
        field: 'allocBlocks',
        old: node.rec.allocBlocks,
        new: node.rec.allocBlocks - n,
        what: `inode ${ino}: no free space for a copy of blocks ${ext.e.rec.block}+${n}: removed the extent at ${ext.e.offset} (its range is now a hole)`,
      })
      node.rec.allocBlocks -= n
      continue
    }
    if (!opts.dryRun)
      v.dev.write(run.start * geo.blockSize, v.dev.read(ext.e.rec.block * geo.blockSize, n * geo.blockSize))
    act({
      problem: 'BLOCK_CLAIMED_TWICE',
      ino,
      block: ext.e.rec.block,
      what: `inode ${ino}: gave the extent at ${ext.e.offset} its own copy of blocks ${ext.e.rec.block}+${n} (now ${run.start})`,
    })
    ext.e.rec.block = run.start
    ext.value = Buffer.from(ext.value)
    ext.value.writeUInt32LE(run.start % 0x100000000, 16)
    ext.value.writeUInt32LE(Math.floor(run.start / 0x100000000), 20)
  }
  const store = new NodeStore(v.dev, alloc, geo.blockSize, v.uuid, geo.blockCount, 1 << 30)
  const tree = BTree.create(store)
  const put = (k: Key, val: Buffer) => tree.put(k, val)
  let inodeCount = 0
  for (const ino of [...nodes.keys()].sort((a, b) => a - b)) {
    const node = nodes.get(ino)!
    inodeCount++
    put({objectid: ino, type: ItemType.INODE, offset: 0}, inodeRecord.encode(node.rec))
    const byHash = new Map<number, DirentRecord[]>()
    for (const d of node.dirents) {
      const h = nameHash(d.name)
      if (!byHash.has(h)) byHash.set(h, [])
      byHash.get(h)!.push(d)
    }
    for (const h of [...byHash.keys()].sort((a, b) => a - b))
      put({objectid: ino, type: ItemType.DIRENT, offset: h}, encodeDirents(byHash.get(h)!))
    for (const x of node.extents) put(x.key, x.value)
    const xByHash = new Map<number, XattrRecord[]>()
    for (const x of node.xattrs) {
      const h = nameHash(x.name)
      if (!xByHash.has(h)) xByHash.set(h, [])
      xByHash.get(h)!.push(x)
    }
    for (const h of [...xByHash.keys()].sort((a, b) => a - b))
      put({objectid: ino, type: ItemType.XATTR, offset: h}, encodeXattrs(xByHash.get(h)!))
  }
  for (const [block, p] of packs) put(packKey(block), packRecord.encode(p.rec))
  const newTree = store.takeDirty(v.sb.generation + 1)
  const inNewTree = new Set(newTree.map((n) => n.block))
  for (const b of treeBlocks) if (!inNewTree.has(b) && !claimed.has(b) && alloc.isUsed(b)) alloc.free(b, 1)
  const bitmap = alloc.takeDirty(v.sb.generation + 1)
  if (!opts.dryRun) {
    for (const {block, data} of newTree) v.dev.write(block * geo.blockSize, data)
    v.dev.flush()
    for (const {block, data} of bitmap) v.dev.write(block * geo.blockSize, data)
    v.dev.flush()
  }
  const blockList = (l: Array<{block: number}>) => {
    const b = l.map((x) => x.block).sort((x, y) => x - y)
    return b.length > 12 ? `${b.slice(0, 12).join(', ')}, ... (${b.length} blocks)` : b.join(', ')
  }
  const reused = newTree.filter((n) => treeBlocks.has(n.block))
  act({
    problem: 'REBUILD',
    what: `write the rebuilt tree (${items.size} items) into ${reused.length ? `blocks ${blockList(newTree)} (${reused.length} of them the old tree's: no other space is free)` : `free blocks ${blockList(newTree)}`}`,
  })
  act({problem: 'REBUILD', what: `rewrite the bitmap blocks ${blockList(bitmap)} from the blocks in use`})
  const sbNew = {treeRoot: tree.root, treeHeight: tree.height, freeBlocks: alloc.freeBlocks, inodeCount, nextIno}
  for (const [field, value] of Object.entries(sbNew)) {
    const old = (v.sb as unknown as Record<string, number>)[field]
    if (old !== value)
      act({
        problem: 'REBUILD',
        block: 0,
        field: `superblock.${field}`,
        old,
        new: value,
        what: `superblock ${field} ${old} → ${value} (primary and backup)`,
      })
  }
  return {
    actions,
    treeBlocks: newTree.length,
    bitmapBlocks: bitmap.length,
    superblock: {inodeCount, nextIno, freeBlocks: alloc.freeBlocks, treeRoot: tree.root, treeHeight: tree.height},
  }
}
