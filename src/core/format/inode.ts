/** The inode record, value of an INODE item (FORMAT.md §7). */
import {reserved, s64, struct, u32, u64, type Decoded} from './codec.js'

export const inodeRecord = struct([
  ['mode', u32],
  ['uid', u32],
  ['gid', u32],
  ['nlink', u32],
  ['size', u64],
  ['flags', u64],
  ['generation', u64],
  ['rdev', u64],
  ['parent', u64],
  ['allocBlocks', u64],
  ['atimeSec', s64],
  ['atimeNsec', u32],
  ['mtimeSec', s64],
  ['mtimeNsec', u32],
  ['ctimeSec', s64],
  ['ctimeNsec', u32],
  ['crtimeSec', s64],
  ['crtimeNsec', u32],
  ['reserved', reserved(16)],
] as const)

export type InodeRecord = Decoded<typeof inodeRecord>

export const ROOT_INO = 1
export const FIRST_INO = 2
export const INODE_FLAG_NOCOMPRESS = 1
