/** Step 5 of repair: link counts, directory sizes and parents, allocated blocks, pack references, recounted from what steps 2-4 kept. */
import {blocksOf} from '../../fs/extents.js'
import {packBlocks} from '../../fs/packs.js'
import {ROOT_INO, type InodeRecord} from '../../format/inode.js'
import {S_IFDIR, S_IFMT} from '../../types.js'
import type {ProblemName} from '../problems.js'
import type {RepairState} from './state.js'

export function fixCounts(s: RepairState): void {
  const {v, act, nodes, packs, claimed, namedIn} = s
  const {geo} = v
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
    problem: ProblemName,
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
}
