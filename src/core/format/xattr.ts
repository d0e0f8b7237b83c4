/** Extended attribute entries, the value of an XATTR item (FORMAT.md §11). */
import {readU64, writeU64} from './codec.js'

export interface XattrRecord {
  name: Buffer
  /** The value, when stored inline. */
  value?: Buffer
  valueLen: number
  /** External storage: first block and CRC32 of the value. */
  block?: number
  crc?: number
}

export const XATTR_EXTERNAL = 1
const FIXED = 8

export function encodeXattrs(list: readonly XattrRecord[]): Buffer {
  const parts: Buffer[] = []
  for (const x of list) {
    const ext = x.block !== undefined
    const head = Buffer.alloc(FIXED)
    head[0] = x.name.length
    head[1] = ext ? XATTR_EXTERNAL : 0
    head.writeUInt32LE(x.valueLen, 4)
    parts.push(head, x.name)
    if (ext) {
      const tail = Buffer.alloc(12)
      writeU64(tail, 0, x.block!)
      tail.writeUInt32LE(x.crc!, 8)
      parts.push(tail)
    } else {
      parts.push(x.value!)
    }
  }
  return Buffer.concat(parts)
}

/** Decode an XATTR value; undefined when malformed. */
export function decodeXattrs(buf: Buffer): XattrRecord[] | undefined {
  const out: XattrRecord[] = []
  let o = 0
  while (o < buf.length) {
    if (o + FIXED > buf.length) return undefined
    const nlen = buf[o]!
    const ext = (buf[o + 1]! & XATTR_EXTERNAL) !== 0
    const vlen = buf.readUInt32LE(o + 4)
    if (nlen === 0 || vlen > 65536) return undefined
    const nameEnd = o + FIXED + nlen
    const end = nameEnd + (ext ? 12 : vlen)
    if (end > buf.length) return undefined
    const name = Buffer.from(buf.subarray(o + FIXED, nameEnd))
    if (ext) {
      let block: number
      try {
        block = readU64(buf, nameEnd)
      } catch {
        return undefined
      }
      out.push({name, valueLen: vlen, block, crc: buf.readUInt32LE(nameEnd + 8)})
    } else {
      out.push({name, valueLen: vlen, value: Buffer.from(buf.subarray(nameEnd, end))})
    }
    o = end
  }
  return out.length ? out : undefined
}
