/** What the steps of repair share: the items read, the inodes rebuilt from them, block owners, and the actions taken. */
import type {DirentRecord} from '../../format/dirent.js'
import type {InodeRecord} from '../../format/inode.js'
import type {Key} from '../../format/keys.js'
import type {PackRecord} from '../../format/pack.js'
import type {XattrRecord} from '../../format/xattr.js'
import type {Extent} from '../../fs/extents.js'
import type {Volume} from '../../fs/volume.js'
import type {FileType} from '../../types.js'
import type {ProblemName} from '../problems.js'

/** One change repair makes (or, in a dry run, would make). */
export interface RepairAction {
  /** The problem it answers (REBUILD: the rebuild itself). */
  problem: ProblemName | 'REBUILD'
  ino?: number
  block?: number
  field?: string
  old?: string | number
  new?: string | number
  what: string
}

export interface RepairOptions {
  dryRun?: boolean
  time: {sec: number; nsec: number}
}

export interface RepairResult {
  actions: RepairAction[]
  /** Blocks the rebuilt tree and bitmap occupy (written unless dry run). */
  treeBlocks: number
  bitmapBlocks: number
  superblock: {inodeCount: number; nextIno: number; freeBlocks: number; treeRoot: number; treeHeight: number}
}

/** An inode as repair rebuilds it: its record and the items it keeps. */
export interface Node {
  rec: InodeRecord
  type: FileType
  dirents: DirentRecord[]
  extents: Array<{key: Key; value: Buffer; e: Extent}>
  xattrs: XattrRecord[]
}

export interface RepairState {
  v: Volume
  opts: RepairOptions
  actions: RepairAction[]
  act(a: RepairAction): void
  /** Step 1: every item read, by key (keyStr). */
  items: Map<string, {key: Key; value: Buffer}>
  /** Step 1: the blocks of the old tree. */
  treeBlocks: Set<number>
  /** Step 2: the inodes kept. */
  nodes: Map<number, Node>
  /** Step 2: the packs that decode, with the references counted in step 3. */
  packs: Map<number, {rec: PackRecord; refs: number}>
  /** Step 3: block -> owning inode (0: a pack). */
  claimed: Map<number, number>
  /** Step 3: extents whose blocks another owner claimed first: each gets a copy in step 6. */
  clones: Array<{ino: number; ext: Node['extents'][number]}>
  /** Step 4: directory -> the directory naming it. */
  namedIn: Map<number, number>
  /** Step 4: the next free inode number. */
  nextIno: number
}

export const keyStr = (k: Key) => `${k.objectid}:${k.type}:${k.offset}`

export function createState(v: Volume, opts: RepairOptions): RepairState {
  const actions: RepairAction[] = []
  return {
    v,
    opts,
    actions,
    act: (a) => actions.push(a),
    items: new Map(),
    treeBlocks: new Set(),
    nodes: new Map(),
    packs: new Map(),
    claimed: new Map(),
    clones: [],
    namedIn: new Map(),
    nextIno: v.sb.nextIno,
  }
}
