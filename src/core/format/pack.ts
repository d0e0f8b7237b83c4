/** The pack record, value of a PACK item (FORMAT.md §10, "Packs"). */
import {reserved, struct, u32, u8, type Decoded} from './codec.js'
import {ItemType, type Key} from './keys.js'

export const packRecord = struct([
  ['refs', u32],
  ['compression', u8],
  ['reserved1', reserved(3)],
  ['length', u32],
  ['stored', u32],
  ['crc', u32],
  ['reserved2', reserved(4)],
] as const)

export type PackRecord = Decoded<typeof packRecord>

/** The key of the PACK item of the pack starting at `block`. */
export const packKey = (block: number): Key => ({objectid: block, type: ItemType.PACK, offset: 0})
