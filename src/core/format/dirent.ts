/** Directory entries, the value of a DIRENT item (FORMAT.md §8). */
import {readU64, writeU64} from './codec.js'
import type {FileType} from '../types.js'

export interface DirentRecord {
  ino: number
  ftype: number
  name: Buffer
}

const FIXED = 10

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
    writeU64(buf, o, e.ino)
    buf[o + 8] = e.ftype
    buf[o + 9] = e.name.length
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
    const len = buf[o + 9]!
    if (len === 0 || o + FIXED + len > buf.length) return undefined
    let ino: number
    try {
      ino = readU64(buf, o)
    } catch {
      return undefined
    }
    out.push({ino, ftype: buf[o + 8]!, name: Buffer.from(buf.subarray(o + FIXED, o + FIXED + len))})
    o += FIXED + len
  }
  return out.length ? out : undefined
}
