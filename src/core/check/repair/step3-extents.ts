/** Step 3 of repair: extents within their file, without overlap; every block one owner (packs first, in block order); a later claimant of a claimed block is queued for a copy (step 6). */
import {blocksOf} from '../../fs/extents.js'
import {STORAGE_PACKED} from '../../format/extent.js'
import {packBlocks} from '../../fs/packs.js'
import {isFixedBlock} from '../../format/geometry.js'
import type {Node, RepairState} from './state.js'

export function claimBlocks(s: RepairState): void {
  const {v, act, nodes, packs, claimed, clones} = s
  const {geo} = v
  // 3. extents: within the file, no overlap, no block claimed twice (the later claimant is dropped... or cloned below)
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
}
