/**
 * Damaged data written by committed work (FORMAT.md §9, recovery): a data
 * block a committed journal transaction lists with its CRC that no longer
 * matches. Recovery redoes the transaction all the same; this names what the
 * block holds — a range of a file (an extent, or a packed tail through its
 * pack) or an external xattr value — so recovery, `journal show`/`replay` and
 * fsck can report exactly what is damaged.
 */
import {decodeDirents} from '../format/dirent.js'
import {STORAGE_BLOCKS, STORAGE_PACKED} from '../format/extent.js'
import {ItemType, type Key} from '../format/keys.js'
import {decodeXattrs} from '../format/xattr.js'
import {decodeExtent} from '../fs/extents.js'
import {decodePack, packBlocks} from '../fs/packs.js'
import type {Volume} from '../fs/volume.js'

export interface DamagedBlock {
  /** The data block that fails its checksum. */
  block: number
  /** The journal transaction that wrote it. */
  seq: number
}

export interface DamagedData extends DamagedBlock {
  /** What the block holds now; undefined when a later transaction freed it (nothing is damaged then). */
  ino?: number
  /** A path of the inode (empty when no directory names it). */
  path?: string
  /** The file's bytes [offset, offset + length) that fail their checksum (a whole extent, or a packed tail). */
  offset?: number
  length?: number
  /** For an external xattr value: the attribute's name. */
  xattr?: string
  /** For a packed tail: the pack's first block. */
  pack?: number
}

const ALL_FROM: Key = {objectid: 0, type: 0, offset: 0}
const ALL_TO: Key = {objectid: Number.MAX_SAFE_INTEGER, type: 255, offset: Number.MAX_SAFE_INTEGER}

/** Find what each damaged block holds (one walk of the tree; only run when recovery found damage). */
export function locateDamage(v: Volume, damaged: readonly DamagedBlock[]): DamagedData[] {
  const byBlock = new Map(damaged.map((d) => [d.block, d]))
  const hit = (first: number, n: number): DamagedBlock | undefined => {
    for (let b = first; b < first + n; b++) {
      const d = byBlock.get(b)
      if (d) return d
    }
    return undefined
  }
  const out: DamagedData[] = []
  const owned = new Set<number>()
  const names = new Map<number, {dir: number; name: Buffer}>()
  const packed: Array<{ino: number; offset: number; length: number; pack: number}> = []
  const damagedPacks = new Map<number, DamagedBlock>()
  for (const [key, value] of v.tree.range(ALL_FROM, ALL_TO)) {
    const ino = key.objectid
    try {
      if (key.type === ItemType.DIRENT) {
        for (const e of decodeDirents(value) ?? []) if (!names.has(e.ino)) names.set(e.ino, {dir: ino, name: e.name})
      } else if (key.type === ItemType.EXTENT) {
        const e = decodeExtent(v, ino, key, value)
        if (e.rec.storage === STORAGE_PACKED)
          packed.push({ino, offset: e.offset, length: e.rec.length, pack: e.rec.block})
        else if (e.rec.storage === STORAGE_BLOCKS) {
          const d = hit(e.rec.block, Math.ceil(e.rec.stored / v.geo.blockSize))
          if (d) {
            out.push({...d, ino, offset: e.offset, length: e.rec.length})
            owned.add(d.block)
          }
        }
      } else if (key.type === ItemType.XATTR) {
        for (const x of decodeXattrs(value) ?? []) {
          if (x.block === undefined) continue
          const d = hit(x.block, Math.ceil(x.valueLen / v.geo.blockSize))
          if (d) {
            out.push({...d, ino, xattr: x.name.toString('utf8')})
            owned.add(d.block)
          }
        }
      } else if (key.type === ItemType.PACK) {
        const d = hit(ino, packBlocks(v, decodePack(v, ino, value)))
        if (d) damagedPacks.set(ino, d)
      }
    } catch {
      // a malformed item is the checker's business, not this report's
    }
  }
  for (const p of packed) {
    const d = damagedPacks.get(p.pack)
    if (!d) continue
    out.push({...d, ino: p.ino, offset: p.offset, length: p.length, pack: p.pack})
    owned.add(d.block)
  }
  for (const d of damaged) if (!owned.has(d.block)) out.push({...d})
  const pathOf = (ino: number): string => {
    const parts: string[] = []
    for (let i = ino, depth = 0; i !== 1 && depth < 4096; depth++) {
      const n = names.get(i)
      if (!n) return ''
      parts.unshift(n.name.toString('utf8'))
      i = n.dir
    }
    return `/${parts.join('/')}`
  }
  for (const d of out) if (d.ino !== undefined) d.path = pathOf(d.ino)
  return out.sort((a, b) => a.seq - b.seq || a.block - b.block || (a.ino ?? 0) - (b.ino ?? 0))
}

/** One line for a damaged block: what it holds. */
export function describeDamage(d: DamagedData): string {
  const where = d.ino === undefined ? '' : `${d.path || `inode ${d.ino}`}`
  if (d.ino === undefined)
    return `data block ${d.block} (transaction ${d.seq}) fails its checksum; a later transaction freed it, nothing is damaged`
  if (d.xattr !== undefined)
    return `${where}: xattr ${d.xattr} value (block ${d.block}, transaction ${d.seq}) fails its checksum`
  const range = `bytes ${d.offset}-${d.offset! + d.length! - 1}`
  return `${where}: ${range} (${d.pack !== undefined ? `packed tail, pack at block ${d.pack}` : `block ${d.block}`}, transaction ${d.seq}) fail their checksum`
}
