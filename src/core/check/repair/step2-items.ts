/** Step 2 of repair: the items grouped by inode, dropping or fixing what cannot be decoded or does not belong; the packs that decode. */
import {isRazorError} from '../../errors.js'
import {decodeDirents} from '../../format/dirent.js'
import {decodeExtent} from '../../fs/extents.js'
import {decodePack} from '../../fs/packs.js'
import {inodeRecord, type InodeRecord} from '../../format/inode.js'
import {compareKeys, ItemType, nameHash} from '../../format/keys.js'
import {decodeXattrs} from '../../format/xattr.js'
import {fileTypeOfMode} from '../../fs/inode-table.js'
import {XATTR_NAMESPACES} from '../../fs/xattrs.js'
import type {RepairState} from './state.js'

export function groupItems(s: RepairState): void {
  const {v, act, items, nodes, packs} = s
  const {geo} = v
  // 2. group by inode, dropping what cannot be decoded
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
}
