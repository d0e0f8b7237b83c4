/**
 * What the passes of the check learn, shared: each pass reads what earlier
 * passes found and adds its own facts (the model is e2fsck's pass table over
 * one e2fsck_t).
 */
import type {DirentRecord} from '../../format/dirent.js'
import {isFixedBlock} from '../../format/geometry.js'
import type {Key} from '../../format/keys.js'
import type {PackRecord} from '../../format/pack.js'
import type {XattrRecord} from '../../format/xattr.js'
import type {Extent} from '../../fs/extents.js'
import type {Volume} from '../../fs/volume.js'
import type {FileType} from '../../types.js'
import {makeProblem, type Problem, type ProblemContext, type ProblemName} from '../problems.js'

export interface CheckOptions {
  /** Also verify every extent's data checksum. */
  checkData?: boolean
  /** Called when a pass starts (for progress display). */
  onPass?: (pass: string) => void
}

export interface InodeInfo {
  type: FileType
  nlink: number
  size: number
  parent: number
  allocBlocks: number
  /** Blocks its extents and xattr values own (pass 3). */
  counted: number
}

export interface Entry {
  dir: number
  name: Buffer
  ino: number
  ftype: number
}

export interface PackedRef {
  ino: number
  offset: number
  block: number
  start: number
  length: number
  crc: number
}

export interface CheckContext {
  v: Volume
  opts: CheckOptions
  problems: Problem[]
  report(name: ProblemName, ctx: ProblemContext): void
  /** Take blocks for one owner (pass 3): BLOCK_IN_FIXED_AREA, BLOCK_CLAIMED_TWICE. */
  claim(b: number, n: number, what: string, ino?: number): void
  isOwned(b: number): boolean

  // pass 2: tree, inodes
  depth: number
  inodes: Map<number, InodeInfo>
  maxIno: number
  /** The orphan list: inodes unlinked while open, freed at the next read-write open. */
  orphans: Set<number>
  /** PACK items by block (objectid), raw. */
  packItems: Array<{key: Key; value: Buffer}>
  /** EXTENT and XATTR items of live inodes, in key order. */
  dataItems: Array<{key: Key; value: Buffer}>
  /** Decoded directory entry items of live inodes, in key order; no list: the inode is not a directory. */
  direntItems: Array<{ino: number; hash: number; list?: DirentRecord[]}>

  // pass 3: extents and block ownership
  /** Packs (FORMAT.md §10): undefined when unreadable. */
  packs: Map<number, PackRecord | undefined>
  packedRefs: PackedRef[]
  /** Block and inline extents, for pass 8. */
  extents: Array<{ino: number; e: Extent}>
  /** Decoded xattr items (undefined: malformed), for pass 6. */
  xattrs: Array<{ino: number; hash: number; list: XattrRecord[] | undefined}>

  // pass 4: directories
  entries: Entry[]
  refs: Map<number, number>
  subdirs: Map<number, number>
  entryCount: Map<number, number>
  reached: Set<number>

  // pass 5: links
  directories: number
  files: number

  // pass 7: space
  usedBlocks: number
}

export function createContext(v: Volume, opts: CheckOptions): CheckContext {
  const {geo} = v
  const problems: Problem[] = []
  const report = (name: ProblemName, ctx: ProblemContext) => problems.push(makeProblem(name, ctx))
  const owned = new Uint8Array(Math.ceil(geo.blockCount / 8))
  return {
    v,
    opts,
    problems,
    report,
    claim(b, n, what, ino) {
      for (let x = b; x < b + n; x++) {
        if (isFixedBlock(geo, x) || x >= geo.blockCount) {
          report('BLOCK_IN_FIXED_AREA', {block: x, detail: what, ino})
          return
        }
        if (owned[x >> 3]! & (1 << (x & 7)))
          report('BLOCK_CLAIMED_TWICE', {block: x, detail: `${what} and another owner`, ino})
        owned[x >> 3]! |= 1 << (x & 7)
      }
    },
    isOwned: (b) => (owned[b >> 3]! & (1 << (b & 7))) !== 0,
    depth: 0,
    inodes: new Map(),
    maxIno: 0,
    orphans: new Set(),
    packItems: [],
    dataItems: [],
    direntItems: [],
    packs: new Map(),
    packedRefs: [],
    extents: [],
    xattrs: [],
    entries: [],
    refs: new Map(),
    subdirs: new Map(),
    entryCount: new Map(),
    reached: new Set(),
    directories: 0,
    files: 0,
    usedBlocks: 0,
  }
}
