/**
 * Tree nodes (FORMAT.md §6): a leaf holds keyed values, an interior node holds
 * keyed child pointers. Decoding validates everything a hostile image could
 * get wrong; the result is trusted by the tree code.
 */
import {readU64, writeU64} from './codec.js'
import {BlockType, HEADER_SIZE, sealBlock, verifyBlock} from './header.js'
import {compareKeys, KEY_SIZE, readKey, writeKey, type Key} from './keys.js'
import {fail} from '../errors.js'

export const NODE_HEADER = HEADER_SIZE + 8 // header + nitems + reserved
export const ITEM_SIZE = KEY_SIZE + 8 // key + (offset, size) or key + child
export const MAX_HEIGHT = 16

export interface LeafNode {
  block: number
  level: 0
  keys: Key[]
  values: Buffer[]
  /** Bytes in use: node header, descriptors and values. */
  used: number
}

export interface InnerNode {
  block: number
  level: number
  keys: Key[]
  children: number[]
}

export type TreeNode = LeafNode | InnerNode

export const isLeaf = (n: TreeNode): n is LeafNode => n.level === 0

export function leafItemCost(value: Buffer): number {
  return ITEM_SIZE + value.length
}

export function leafCapacity(blockSize: number): number {
  return blockSize - NODE_HEADER
}

export function innerCapacity(blockSize: number): number {
  return Math.floor((blockSize - NODE_HEADER) / ITEM_SIZE)
}

export function encodeNode(n: TreeNode, blockSize: number, uuid: Buffer, generation: number): Buffer {
  const buf = Buffer.alloc(blockSize)
  buf.writeUInt32LE(n.keys.length, HEADER_SIZE)
  let o = NODE_HEADER
  if (isLeaf(n)) {
    let end = blockSize
    for (let i = 0; i < n.keys.length; i++) {
      const v = n.values[i]!
      end -= v.length
      writeKey(buf, o, n.keys[i]!)
      buf.writeUInt32LE(end, o + KEY_SIZE)
      buf.writeUInt32LE(v.length, o + KEY_SIZE + 4)
      v.copy(buf, end)
      o += ITEM_SIZE
    }
    if (o > end) throw new Error(`leaf ${n.block} overflows`)
  } else {
    for (let i = 0; i < n.keys.length; i++) {
      writeKey(buf, o, n.keys[i]!)
      writeU64(buf, o + KEY_SIZE, n.children[i]!)
      o += ITEM_SIZE
    }
  }
  sealBlock(buf, {
    type: isLeaf(n) ? BlockType.LEAF : BlockType.NODE,
    level: n.level,
    blocknr: n.block,
    uuid,
    generation,
  })
  return buf
}

/** Decode and validate a node read from `block`. `level` is what the parent implies (undefined for the root). */
export function decodeNode(buf: Buffer, block: number, uuid: Buffer, level?: number): TreeNode {
  const h = verifyBlock(buf, {blocknr: block, uuid, type: [BlockType.LEAF, BlockType.NODE], level})
  const bad = (why: string) => fail('ECORRUPT', `tree block ${block}: ${why}`, {block})
  const isLeafType = h.type === BlockType.LEAF
  if (isLeafType !== (h.level === 0)) throw bad(`type and level ${h.level} disagree`)
  if (h.level >= MAX_HEIGHT) throw bad(`level ${h.level} too high`)
  const n = buf.readUInt32LE(HEADER_SIZE)
  if (NODE_HEADER + n * ITEM_SIZE > buf.length) throw bad(`${n} items cannot fit`)
  const keys: Key[] = []
  try {
    for (let i = 0; i < n; i++) keys.push(readKey(buf, NODE_HEADER + i * ITEM_SIZE))
  } catch {
    throw bad('key out of range')
  }
  for (let i = 1; i < n; i++) if (compareKeys(keys[i - 1]!, keys[i]!) >= 0) throw bad(`keys out of order at item ${i}`)
  if (isLeafType) {
    const values: Buffer[] = []
    const floor = NODE_HEADER + n * ITEM_SIZE
    let used = NODE_HEADER
    for (let i = 0; i < n; i++) {
      const d = NODE_HEADER + i * ITEM_SIZE + KEY_SIZE
      const off = buf.readUInt32LE(d)
      const size = buf.readUInt32LE(d + 4)
      if (off < floor || off + size > buf.length) throw bad(`item ${i} value out of bounds`)
      values.push(Buffer.from(buf.subarray(off, off + size)))
      used += ITEM_SIZE + size
    }
    if (used > buf.length) throw bad('values overlap')
    return {block, level: 0, keys, values, used}
  }
  if (n === 0) throw bad('empty interior node')
  const children: number[] = []
  try {
    for (let i = 0; i < n; i++) children.push(readU64(buf, NODE_HEADER + i * ITEM_SIZE + KEY_SIZE))
  } catch {
    throw bad('child pointer out of range')
  }
  return {block, level: h.level, keys, children}
}
