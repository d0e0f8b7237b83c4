/**
 * Pass 3: extents and block ownership. Every extent of a live file decodes,
 * lies within the file and after the previous one; every block has one owner
 * (tree blocks were claimed in pass 2; here extents, xattr values and packs);
 * every packed extent names a pack it fits in; counts of blocks and pack
 * references match.
 */
import {isRazorError} from '../../errors.js'
import {STORAGE_PACKED} from '../../format/extent.js'
import {ItemType} from '../../format/keys.js'
import type {PackRecord} from '../../format/pack.js'
import {decodeXattrs} from '../../format/xattr.js'
import {blocksOf, decodeExtent} from '../../fs/extents.js'
import {decodePack, packBlocks} from '../../fs/packs.js'
import type {CheckContext} from './context.js'

export function extentsPass(c: CheckContext): void {
  const {v, report} = c
  const {geo} = v
  for (const {key, value} of c.packItems) {
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
    c.packs.set(key.objectid, rec)
  }

  // extents and xattr values in key order (one inode's extents, then its xattrs), so owners claim in that order
  let cur = {ino: 0, extEnd: 0, packedAt: undefined as number | undefined}
  for (const {key, value} of c.dataItems) {
    const ino = key.objectid
    if (ino !== cur.ino) cur = {ino, extEnd: 0, packedAt: undefined}
    const info = c.inodes.get(ino)!
    if (key.type === ItemType.XATTR) {
      // judged in pass 6; here only the blocks of values in the data area are owned
      const list = decodeXattrs(value)
      c.xattrs.push({ino, hash: key.offset, list})
      for (const x of list ?? []) {
        if (x.block === undefined) continue
        const n = Math.ceil(x.valueLen / geo.blockSize)
        if (x.block < geo.firstFree || x.block + n > geo.backupSuperblock) continue
        c.claim(x.block, n, `inode ${ino} xattr`, ino)
        info.counted += n
      }
      continue
    }
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
      const r = e.rec
      c.packedRefs.push({ino, offset: e.offset, block: r.block, start: r.stored, length: r.length, crc: r.crc})
    } else c.extents.push({ino, e})
    if (e.offset + e.rec.length > Math.ceil(info.size / geo.blockSize) * geo.blockSize)
      report('EXTENT_PAST_EOF', {ino, found: e.offset, expected: info.size})
    const n = blocksOf(v, e)
    if (n) {
      c.claim(e.rec.block, n, `inode ${ino}`, ino)
      info.counted += n
    }
  }

  // packs: every packed extent names a pack it fits in; refs; blocks owned
  const counted = new Map<number, number>()
  const fitting: typeof c.packedRefs = []
  for (const r of c.packedRefs) {
    if (!c.packs.has(r.block)) {
      report('PACKED_EXTENT_BAD', {ino: r.ino, found: r.offset, detail: `names pack ${r.block}, which does not exist`})
      continue
    }
    const p = c.packs.get(r.block)
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
    else fitting.push(r)
  }
  // only the slices that fit are read by pass 8
  c.packedRefs = fitting
  for (const [block, p] of c.packs) {
    if (!p) continue
    c.claim(block, packBlocks(v, p), `pack at block ${block}`)
    const n = counted.get(block) ?? 0
    if (n === 0) report('PACK_UNREFERENCED', {block})
    else if (p.refs !== n) report('PACK_REFS_WRONG', {block, found: p.refs, expected: n})
  }
  for (const [ino, info] of c.inodes)
    if (info.allocBlocks !== info.counted)
      report('ALLOC_BLOCKS_WRONG', {ino, found: info.allocBlocks, expected: info.counted})
}
