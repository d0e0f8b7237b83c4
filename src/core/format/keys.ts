/**
 * Tree keys (FORMAT.md §6): (objectid u64, type u8, offset u64), and the name hash.
 */
import crypto from 'node:crypto'
import {readU64, writeU64} from './codec.js'

export interface Key {
  objectid: number
  type: number
  offset: number
}

export const KEY_SIZE = 17

export const ItemType = {
  INODE: 1,
  DIRENT: 2,
  EXTENT: 3,
  XATTR: 4,
  ORPHAN: 5,
  PACK: 6,
} as const

export const ITEM_TYPE_NAMES: Record<number, string> = {
  1: 'INODE',
  2: 'DIRENT',
  3: 'EXTENT',
  4: 'XATTR',
  5: 'ORPHAN',
  6: 'PACK',
}

export function compareKeys(a: Key, b: Key): number {
  if (a.objectid !== b.objectid) return a.objectid < b.objectid ? -1 : 1
  if (a.type !== b.type) return a.type < b.type ? -1 : 1
  if (a.offset !== b.offset) return a.offset < b.offset ? -1 : 1
  return 0
}

export function readKey(buf: Buffer, at: number): Key {
  return {objectid: readU64(buf, at), type: buf[at + 8]!, offset: readU64(buf, at + 9)}
}

export function writeKey(buf: Buffer, at: number, k: Key): void {
  writeU64(buf, at, k.objectid)
  buf[at + 8] = k.type
  writeU64(buf, at + 9, k.offset)
}

export const MAX_KEY: Key = {objectid: Number.MAX_SAFE_INTEGER, type: 255, offset: Number.MAX_SAFE_INTEGER}

const HASH_MASK_HI = 0xfffff // 20 bits of the high word: 52 bits in all

/** The 52-bit name hash of DIRENT and XATTR keys; never 0, 1 or 2. */
export function nameHash(name: Buffer): number {
  const d = crypto.createHash('sha256').update(name).digest()
  const h = (d.readUInt32LE(4) & HASH_MASK_HI) * 0x100000000 + d.readUInt32LE(0)
  return h < 3 ? 3 : h
}
