/** Extended attribute entries, the value of an XATTR item (FORMAT.md §11). */
import {readU64, reserved, struct, u32, u64, u8, writeU64} from './codec.js'

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

/** The fixed head of each entry; the name follows it, then the value (or, external, {@link xattrExternal}). */
export const xattrHead = struct([
  ['nameLen', u8],
  ['flags', u8],
  ['reserved', reserved(2)],
  ['valueLen', u32],
] as const)

/** After the name of an external entry: where the value is stored, and its CRC32. */
export const xattrExternal = struct([
  ['block', u64],
  ['crc', u32],
] as const)

const FIXED = xattrHead.size
const EXTERNAL = xattrExternal.size
const {nameLen: NAME_LEN, flags: FLAGS, valueLen: VALUE_LEN} = xattrHead.offsets
const {block: BLOCK, crc: CRC} = xattrExternal.offsets

export function encodeXattrs(list: readonly XattrRecord[]): Buffer {
  const parts: Buffer[] = []
  for (const x of list) {
    const ext = x.block !== undefined
    const head = Buffer.alloc(FIXED)
    head[NAME_LEN] = x.name.length
    head[FLAGS] = ext ? XATTR_EXTERNAL : 0
    head.writeUInt32LE(x.valueLen, VALUE_LEN)
    parts.push(head, x.name)
    if (ext) {
      const tail = Buffer.alloc(EXTERNAL)
      writeU64(tail, BLOCK, x.block!)
      tail.writeUInt32LE(x.crc!, CRC)
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
    const nlen = buf[o + NAME_LEN]!
    const ext = (buf[o + FLAGS]! & XATTR_EXTERNAL) !== 0
    const vlen = buf.readUInt32LE(o + VALUE_LEN)
    if (nlen === 0 || vlen > 65536) return undefined
    const nameEnd = o + FIXED + nlen
    const end = nameEnd + (ext ? EXTERNAL : vlen)
    if (end > buf.length) return undefined
    const name = Buffer.from(buf.subarray(o + FIXED, nameEnd))
    if (ext) {
      let block: number
      try {
        block = readU64(buf, nameEnd + BLOCK)
      } catch {
        return undefined
      }
      out.push({name, valueLen: vlen, block, crc: buf.readUInt32LE(nameEnd + CRC)})
    } else {
      out.push({name, valueLen: vlen, value: Buffer.from(buf.subarray(nameEnd, end))})
    }
    o = end
  }
  return out.length ? out : undefined
}
