/**
 * Pass 2: the tree and the inodes. Walks every node (levels, key bounds,
 * height), decodes every INODE item, and sorts the other items out for the
 * passes that judge them: items of missing inodes and of unknown types are
 * reported here.
 */
import {isRazorError} from '../../errors.js'
import {decodeDirents} from '../../format/dirent.js'
import {inodeRecord, type InodeRecord} from '../../format/inode.js'
import {compareKeys, ItemType, type Key} from '../../format/keys.js'
import {isLeaf} from '../../format/node.js'
import {fileTypeOfMode} from '../../fs/inode-table.js'
import type {CheckContext} from './context.js'

export function treePass(c: CheckContext): void {
  const {v, report} = c
  const items: Array<{key: Key; value: Buffer}> = []
  const walk = (block: number, level: number, lo: Key | undefined, hi: Key | undefined) => {
    let n
    try {
      n = v.tree.readNode(block, level)
    } catch (e) {
      if (!isRazorError(e)) throw e
      report('TREE_BLOCK_BAD', {block, detail: e.message})
      return
    }
    c.claim(block, 1, `tree block`)
    c.depth = Math.max(c.depth, level + 1)
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
  if (c.depth !== v.tree.height && c.problems.every((p) => p.id !== 'TREE_BLOCK_BAD'))
    report('TREE_HEIGHT', {found: c.depth, expected: v.tree.height})

  // items arrive in key order: INODE first, then the inode's other items
  for (const {key, value} of items) {
    if (key.objectid === 0 && key.type === ItemType.ORPHAN) {
      c.orphans.add(key.offset)
      continue
    }
    if (key.type === ItemType.PACK) {
      // objectid is a block number, not an inode
      c.packItems.push({key, value})
      continue
    }
    const ino = key.objectid
    if (key.type === ItemType.INODE) {
      decodeInode(c, ino, key, value)
      continue
    }
    const kind =
      {[ItemType.DIRENT]: 'directory entry', [ItemType.EXTENT]: 'extent', [ItemType.XATTR]: 'xattr'}[key.type] ??
      `type ${key.type}`
    const info = c.inodes.get(ino)
    if (!info) {
      report('ITEM_ORPHANED', {ino, detail: kind})
      continue
    }
    if (key.type === ItemType.DIRENT) {
      if (info.type !== 'dir') {
        c.direntItems.push({ino, hash: key.offset})
        continue
      }
      const list = decodeDirents(value)
      if (!list) report('ITEM_BAD', {ino, detail: kind})
      else c.direntItems.push({ino, hash: key.offset, list})
    } else if (key.type === ItemType.EXTENT || key.type === ItemType.XATTR) c.dataItems.push({key, value})
    else report('ITEM_BAD', {ino, detail: kind})
  }
}

function decodeInode(c: CheckContext, ino: number, key: Key, value: Buffer): void {
  const {report} = c
  c.maxIno = Math.max(c.maxIno, ino)
  if (value.length !== inodeRecord.size || key.offset !== 0) {
    report('INODE_BAD', {ino, detail: `record of ${value.length} bytes`})
    return
  }
  let rec: InodeRecord
  try {
    rec = inodeRecord.decode(value)
  } catch {
    report('INODE_BAD', {ino, detail: 'field out of range'})
    return
  }
  const type = fileTypeOfMode(rec.mode)
  if (!type) {
    report('INODE_BAD', {ino, detail: `invalid mode 0${rec.mode.toString(8)}`})
    return
  }
  for (const t of ['atime', 'mtime', 'ctime', 'crtime'] as const)
    if (rec[`${t}Nsec`] >= 1e9) report('INODE_BAD', {ino, detail: `${t} nanoseconds ${rec[`${t}Nsec`]} out of range`})
  c.inodes.set(ino, {
    type,
    nlink: rec.nlink,
    size: rec.size,
    parent: rec.parent,
    allocBlocks: rec.allocBlocks,
    counted: 0,
  })
  if (ino >= c.v.sb.nextIno) report('INO_ABOVE_NEXT', {ino, found: c.v.sb.nextIno})
}
