/** Directory entries, the value of a DIRENT item (FORMAT.md §8). */
import {readU64, struct, u64, u8, writeU64} from './codec.js'
import type {FileType} from '../types.js'

export interface DirentRecord {
  ino: number
  ftype: number
  name: Buffer
}

/** The fixed head of each entry; `nameLen` bytes of name follow it. */
export const direntHead = struct([
  ['ino', u64],
  ['ftype', u8],
  ['nameLen', u8],
] as const)

const FIXED = direntHead.size
const {ino: INO, ftype: FTYPE, nameLen: NAME_LEN} = direntHead.offsets

export const FTYPES: readonly FileType[] = ['file', 'dir', 'symlink', 'chardev', 'blockdev', 'fifo', 'socket']

export function ftypeCode(t: FileType): number {
  return FTYPES.indexOf(t) + 1
}

export function ftypeName(code: number): FileType | undefined {
  return FTYPES[code - 1]
}

export function encodeDirents(list: readonly DirentRecord[]): Buffer {
  const buf = Buffer.alloc(list.reduce((n, e) => n + FIXED + e.name.length, 0))
  let o = 0
  for (const e of list) {
    writeU64(buf, o + INO, e.ino)
    buf[o + FTYPE] = e.ftype
    buf[o + NAME_LEN] = e.name.length
    e.name.copy(buf, o + FIXED)
    o += FIXED + e.name.length
  }
  return buf
}

/** Decode a DIRENT value; returns undefined when it is malformed. */
export function decodeDirents(buf: Buffer): DirentRecord[] | undefined {
  const out: DirentRecord[] = []
  let o = 0
  while (o < buf.length) {
    if (o + FIXED > buf.length) return undefined
    const len = buf[o + NAME_LEN]!
    if (len === 0 || o + FIXED + len > buf.length) return undefined
    let ino: number
    try {
      ino = readU64(buf, o + INO)
    } catch {
      return undefined
    }
    out.push({ino, ftype: buf[o + FTYPE]!, name: Buffer.from(buf.subarray(o + FIXED, o + FIXED + len))})
    o += FIXED + len
  }
  return out.length ? out : undefined
}
