/** Step 1 of repair: every item of every readable tree node, and of lost leaves (blocks marked used, owned by nothing, that verify as leaves of this image); the blocks of the old tree. */
import {isRazorError} from '../../errors.js'
import {blocksOf, decodeExtent} from '../../fs/extents.js'
import {decodePack, packBlocks} from '../../fs/packs.js'
import {blockProblem, BlockType} from '../../format/header.js'
import {ItemType} from '../../format/keys.js'
import {decodeNode, isLeaf} from '../../format/node.js'
import {keyStr, type RepairState} from './state.js'

export function collectItems(s: RepairState): void {
  const {v, act, items, treeBlocks} = s
  const {geo} = v
  // 1. collect items from every readable node, remembering the tree blocks
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
}
