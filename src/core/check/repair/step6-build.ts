/** Step 6 of repair: a fresh allocator with the data in use, copies for shared blocks, the new tree and the bitmap (written unless a dry run), and the superblock values to switch to. */
import {BTree} from '../../tree/btree.js'
import {isRazorError} from '../../errors.js'
import {encodeDirents, type DirentRecord} from '../../format/dirent.js'
import {blocksOf} from '../../fs/extents.js'
import {extentRecord} from '../../format/extent.js'
import {packKey, packRecord} from '../../format/pack.js'
import {isFixedBlock} from '../../format/geometry.js'
import {inodeRecord} from '../../format/inode.js'
import {ItemType, nameHash, type Key} from '../../format/keys.js'
import {encodeXattrs, type XattrRecord} from '../../format/xattr.js'
import {NodeStore} from '../../tree/node-store.js'
import {Allocator, type Run} from '../../tree/allocator.js'
import type {RepairState, RepairResult} from './state.js'

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

export function buildTree(s: RepairState): RepairResult {
  const {v, act, actions, opts, items, treeBlocks, nodes, packs, claimed, clones} = s
  const {geo} = v
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
    // the item keeps its inline bytes (none for block extents); only the record's block changes
    ext.value = Buffer.from(ext.value)
    extentRecord.encode(ext.e.rec, ext.value, 0)
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
  const sbNew = {
    treeRoot: tree.root,
    treeHeight: tree.height,
    freeBlocks: alloc.freeBlocks,
    inodeCount,
    nextIno: s.nextIno,
  }
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
    superblock: {
      inodeCount,
      nextIno: s.nextIno,
      freeBlocks: alloc.freeBlocks,
      treeRoot: tree.root,
      treeHeight: tree.height,
    },
  }
}
