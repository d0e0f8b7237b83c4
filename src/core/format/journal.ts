/**
 * Journal blocks (FORMAT.md §9): a descriptor lists the home blocks whose
 * copies follow it; a commit block closes a transaction and carries the
 * superblock fields the transaction leaves behind.
 */
import {readU64, reserved, struct, u32, u64, writeU64, type Decoded} from './codec.js'
import {HEADER_SIZE} from './header.js'

export const JournalBlockType = {
  DESCRIPTOR: 5,
  COMMIT: 6,
} as const

export const descriptorHead = struct([
  ['seq', u64],
  ['count', u32],
  ['flags', u32],
] as const)

/** Descriptor flag: the entries are data blocks written home by the transaction, with their CRC; no payloads follow. */
export const DESCRIPTOR_DATA_CHECKS = 1

/** One descriptor entry: the home block of the payload that follows, and the payload's CRC32. */
export const descriptorEntry = struct([
  ['target', u64],
  ['crc', u32],
] as const)
export const DESCRIPTOR_ENTRY = descriptorEntry.size // 12
const {target: TARGET, crc: CRC} = descriptorEntry.offsets
export const DESCRIPTOR_ENTRIES_AT = HEADER_SIZE + descriptorHead.size // 64

export function descriptorCapacity(blockSize: number): number {
  return Math.floor((blockSize - DESCRIPTOR_ENTRIES_AT) / DESCRIPTOR_ENTRY)
}

export interface DescriptorEntry {
  target: number
  crc: number
}

export function writeDescriptorEntries(buf: Buffer, entries: readonly DescriptorEntry[]): void {
  let o = DESCRIPTOR_ENTRIES_AT
  for (const e of entries) {
    writeU64(buf, o + TARGET, e.target)
    buf.writeUInt32LE(e.crc, o + CRC)
    o += DESCRIPTOR_ENTRY
  }
}

export function readDescriptorEntries(buf: Buffer, count: number): DescriptorEntry[] {
  const out: DescriptorEntry[] = []
  for (let i = 0, o = DESCRIPTOR_ENTRIES_AT; i < count; i++, o += DESCRIPTOR_ENTRY)
    out.push({target: readU64(buf, o + TARGET), crc: buf.readUInt32LE(o + CRC)})
  return out
}

export const commitBody = struct([
  ['seq', u64],
  ['blocks', u32],
  ['flags', u32],
  ['treeRoot', u64],
  ['treeHeight', u32],
  ['reserved1', reserved(4)],
  ['freeBlocks', u64],
  ['inodeCount', u64],
  ['nextIno', u64],
  ['generation', u64],
] as const)

export type CommitFields = Decoded<typeof commitBody>
