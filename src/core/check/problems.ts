// Over 400 lines: the table is one concept, 47 rows of eight fields each; split, a reader would lose the one list of codes.
/**
 * The problem table: one row per kind of inconsistency the checker can find.
 * Output, JSON reports and the documentation of problem codes all come from
 * it (the model is e2fsck's problem table). Codes are stable: never renumber
 * a row; retire it instead. The high byte of a code is its pass's number in
 * PASS_LIST (pass-list.ts).
 */
import {passNumber, type PassName} from './pass-list.js'

export type Severity = 'error' | 'warning'

export interface ProblemDef {
  /** Stable numeric code, pass in the high byte: 0xPPNNNN. */
  code: number
  /** Stable symbolic name. */
  name: ProblemName
  pass: PassName
  severity: Severity
  /** Message template: {ino}, {block}, {path}, {name}, {expected}, {found}, {detail} are filled in. */
  message: string
  /** What repair does about it. */
  fix: string
  /** Safe to fix without asking (fsck -p). */
  preenOk: boolean
  /** No repair can fix it (the data itself is gone): reported, never "fixed". */
  unfixable?: boolean
  /** A crash leaves it and journal replay resolves it: it does not make an image inconsistent. */
  afterCrash?: boolean
}

export {PASSES, type PassName} from './pass-list.js'

const P = (pass: PassName) => passNumber(pass) << 16

const rows = [
  // superblock
  {
    n: 1,
    name: 'SB_PRIMARY_BAD',
    pass: 'superblock',
    severity: 'error',
    message: 'primary superblock unreadable: {detail}',
    fix: 'restore it from the backup superblock',
    preenOk: true,
  },
  {
    n: 2,
    name: 'SB_BACKUP_BAD',
    pass: 'superblock',
    severity: 'error',
    message: 'backup superblock in block {block} unreadable: {detail}',
    fix: 'rewrite the backup from the primary',
    preenOk: true,
  },
  {
    n: 3,
    name: 'SB_BACKUP_DIFFERS',
    pass: 'superblock',
    severity: 'warning',
    message: 'backup superblock differs from the primary ({detail})',
    fix: 'rewrite the backup from the primary',
    preenOk: true,
  },
  {
    n: 4,
    name: 'SB_COUNT_WRONG',
    pass: 'superblock',
    severity: 'error',
    message: 'superblock {detail} is {found}, counted {expected}',
    fix: 'set it to the counted value',
    preenOk: true,
  },
  {
    n: 5,
    name: 'SB_NEXT_INO_LOW',
    pass: 'superblock',
    severity: 'error',
    message: 'next inode number {found} is not above inode {ino}',
    fix: 'raise it past the largest inode',
    preenOk: true,
  },
  {
    n: 6,
    name: 'SB_TRUNCATED',
    pass: 'superblock',
    severity: 'error',
    message: 'image file is {found} bytes, the superblock says {expected}',
    fix: 'extend the file (the missing part reads as zeros) and repair what it held',
    preenOk: false,
  },
  {
    n: 7,
    name: 'SB_NOT_CLEAN',
    pass: 'superblock',
    severity: 'warning',
    message: 'image was not closed cleanly',
    fix: 'mark it clean after the check',
    preenOk: true,
  },
  {
    n: 8,
    name: 'REPAIR_INTERRUPTED',
    pass: 'superblock',
    severity: 'error',
    message:
      'an earlier repair of this image was interrupted after it began writing; its undo log {detail} holds everything it overwrote',
    fix: 'roll the interrupted repair back from its undo log (the image is then as before that repair), then check and repair again',
    preenOk: true,
  },
  // journal
  {
    n: 1,
    name: 'JOURNAL_NEEDS_RECOVERY',
    pass: 'journal',
    severity: 'warning',
    message: 'journal holds {found} committed transaction(s) not yet written home',
    fix: 'replay the journal',
    preenOk: true,
    afterCrash: true,
  },
  {
    n: 2,
    name: 'JOURNAL_CORRUPT',
    pass: 'journal',
    severity: 'error',
    message: 'journal transaction {found} is corrupt: {detail}',
    fix: 'discard it and everything after it',
    preenOk: false,
  },
  {
    n: 3,
    name: 'JOURNAL_TORN',
    pass: 'journal',
    severity: 'warning',
    message: 'last journal transaction {found} was never completed ({detail}); it was not acknowledged',
    fix: 'discard it',
    preenOk: true,
    afterCrash: true,
  },
  {
    n: 4,
    name: 'JOURNAL_DATA_DAMAGED',
    pass: 'journal',
    severity: 'error',
    message: '{path}: {detail}, written by committed journal transaction {found}, fails its checksum',
    fix: 'keep it: the transaction is replayed and the metadata kept; reads of the damaged range (or xattr) fail with a checksum error until it is rewritten, truncated or removed',
    preenOk: false,
    unfixable: true,
  },
  // tree and inodes
  {
    n: 1,
    name: 'TREE_BLOCK_BAD',
    pass: 'tree',
    severity: 'error',
    message: 'tree block {block} unreadable: {detail}',
    fix: 'drop the subtree and reattach what survives',
    preenOk: false,
  },
  {
    n: 2,
    name: 'TREE_KEY_ORDER',
    pass: 'tree',
    severity: 'error',
    message: 'tree block {block}: keys outside the bounds its parent gives ({detail})',
    fix: 'rebuild the tree from its items',
    preenOk: false,
  },
  {
    n: 3,
    name: 'TREE_HEIGHT',
    pass: 'tree',
    severity: 'error',
    message: 'tree height is {found}, superblock says {expected}',
    fix: 'set the superblock height',
    preenOk: true,
  },
  {
    n: 4,
    name: 'INODE_BAD',
    pass: 'tree',
    severity: 'error',
    message: 'inode {ino}: {detail}',
    fix: 'clear the inode',
    preenOk: false,
  },
  {
    n: 5,
    name: 'ITEM_ORPHANED',
    pass: 'tree',
    severity: 'error',
    message: '{detail} item of missing inode {ino}',
    fix: 'remove the item',
    preenOk: true,
  },
  {
    n: 6,
    name: 'ITEM_BAD',
    pass: 'tree',
    severity: 'error',
    message: 'inode {ino}: malformed {detail} item',
    fix: 'remove the item',
    preenOk: false,
  },
  {
    n: 7,
    name: 'INO_ABOVE_NEXT',
    pass: 'tree',
    severity: 'error',
    message: 'inode {ino} is not below the next inode number {found}',
    fix: 'raise the next inode number',
    preenOk: true,
  },
  // extents and block ownership
  {
    n: 1,
    name: 'EXTENT_BAD',
    pass: 'extents',
    severity: 'error',
    message: 'inode {ino}: {detail}',
    fix: 'remove the extent (its range becomes a hole)',
    preenOk: false,
  },
  {
    n: 2,
    name: 'BLOCK_CLAIMED_TWICE',
    pass: 'extents',
    severity: 'error',
    message: 'block {block} is claimed by {detail}',
    fix: 'give the later claimant a copy of the block (with no free space for one: remove its extent, the range becomes a hole)',
    preenOk: false,
  },
  {
    n: 3,
    name: 'BLOCK_IN_FIXED_AREA',
    pass: 'extents',
    severity: 'error',
    message: 'block {block} of {detail} lies in a fixed area',
    fix: 'remove the reference',
    preenOk: false,
  },
  {
    n: 4,
    name: 'EXTENT_PAST_EOF',
    pass: 'extents',
    severity: 'error',
    message: 'inode {ino}: extent at {found} lies past the file size {expected}',
    fix: 'remove the extent',
    preenOk: true,
  },
  {
    n: 5,
    name: 'ALLOC_BLOCKS_WRONG',
    pass: 'extents',
    severity: 'error',
    message: 'inode {ino}: block count {found}, counted {expected}',
    fix: 'set the counted value',
    preenOk: true,
  },
  {
    n: 6,
    name: 'PACK_BAD',
    pass: 'extents',
    severity: 'error',
    message: 'pack at block {block}: {detail}',
    fix: 'remove the pack; the packed extents naming it are removed (their ranges become holes)',
    preenOk: false,
  },
  {
    n: 7,
    name: 'PACKED_EXTENT_BAD',
    pass: 'extents',
    severity: 'error',
    message: 'inode {ino}: packed extent at {found}: {detail}',
    fix: 'remove the extent (its range becomes a hole)',
    preenOk: false,
  },
  {
    n: 8,
    name: 'PACK_REFS_WRONG',
    pass: 'extents',
    severity: 'error',
    message: 'pack at block {block}: reference count {found}, counted {expected}',
    fix: 'set the counted value',
    preenOk: true,
  },
  {
    n: 9,
    name: 'PACK_UNREFERENCED',
    pass: 'extents',
    severity: 'warning',
    message: 'pack at block {block} is named by no extent',
    fix: 'free the pack',
    preenOk: true,
  },
  // directories
  {
    n: 1,
    name: 'ROOT_MISSING',
    pass: 'directories',
    severity: 'error',
    message: 'root directory missing or not a directory',
    fix: 'create a new root directory',
    preenOk: false,
  },
  {
    n: 2,
    name: 'DIRENT_TO_MISSING',
    pass: 'directories',
    severity: 'error',
    message: "entry '{name}' in directory {ino} names missing inode {found}",
    fix: 'remove the entry',
    preenOk: true,
  },
  {
    n: 3,
    name: 'DIRENT_TYPE',
    pass: 'directories',
    severity: 'error',
    message: "entry '{name}' in directory {ino}: type {found}, inode is {expected}",
    fix: 'correct the entry type',
    preenOk: true,
  },
  {
    n: 4,
    name: 'DIRENT_BAD_NAME',
    pass: 'directories',
    severity: 'error',
    message: "directory {ino} has an invalid name '{name}'",
    fix: 'remove the entry',
    preenOk: false,
  },
  {
    n: 5,
    name: 'DIRENT_HASH',
    pass: 'directories',
    severity: 'error',
    message: "entry '{name}' in directory {ino} is stored under the wrong hash",
    fix: 'move it under its hash',
    preenOk: true,
  },
  {
    n: 6,
    name: 'DIR_MULTIPLY_LINKED',
    pass: 'directories',
    severity: 'error',
    message: "directory {found} has a second entry '{name}' in directory {ino}",
    fix: 'remove the extra entry',
    preenOk: false,
  },
  {
    n: 7,
    name: 'DIR_PARENT_WRONG',
    pass: 'directories',
    severity: 'error',
    message: "directory {ino}: '..' is {found}, it is named in {expected}",
    fix: "set '..'",
    preenOk: true,
  },
  {
    n: 8,
    name: 'UNREACHABLE',
    pass: 'directories',
    severity: 'error',
    message: 'inode {ino} is not reachable from the root',
    fix: 'reconnect it under /lost+found',
    preenOk: false,
  },
  {
    n: 9,
    name: 'DIR_CYCLE',
    pass: 'directories',
    severity: 'error',
    message: 'directory {ino} is part of a cycle',
    fix: 'reconnect it under /lost+found',
    preenOk: false,
  },
  {
    n: 10,
    name: 'ENTRY_ON_NON_DIR',
    pass: 'directories',
    severity: 'error',
    message: 'inode {ino} is not a directory but has entries',
    fix: 'remove the entries',
    preenOk: false,
  },
  // link counts
  {
    n: 1,
    name: 'NLINK_WRONG',
    pass: 'links',
    severity: 'error',
    message: 'inode {ino}: link count {found}, counted {expected}',
    fix: 'set the counted value',
    preenOk: true,
  },
  {
    n: 2,
    name: 'DIR_SIZE_WRONG',
    pass: 'links',
    severity: 'error',
    message: 'directory {ino}: size {found}, has {expected} entries',
    fix: 'set the counted value',
    preenOk: true,
  },
  // xattrs
  {
    n: 1,
    name: 'XATTR_BAD',
    pass: 'xattrs',
    severity: 'error',
    message: 'inode {ino}: xattr {detail}',
    fix: 'remove the attribute',
    preenOk: false,
  },
  // free space
  {
    n: 1,
    name: 'BLOCK_USED_NOT_MARKED',
    pass: 'space',
    severity: 'error',
    message: 'block {block} is in use but marked free',
    fix: 'mark it used',
    preenOk: true,
  },
  {
    n: 2,
    name: 'BLOCK_MARKED_NOT_USED',
    pass: 'space',
    severity: 'warning',
    message: '{found} block(s) marked used belong to nothing (first {block})',
    fix: 'mark them free',
    preenOk: true,
  },
  {
    n: 3,
    name: 'BITMAP_BAD',
    pass: 'space',
    severity: 'error',
    message: 'bitmap block {block} unreadable: {detail}',
    fix: 'rebuild it from the blocks in use',
    preenOk: true,
  },
  // data
  {
    n: 1,
    name: 'DATA_CHECKSUM',
    pass: 'data',
    severity: 'error',
    message: 'inode {ino}: data at offset {found} (block {block}) fails its checksum',
    fix: 'report only: the data cannot be recovered',
    preenOk: false,
    unfixable: true,
  },
] as const satisfies ReadonlyArray<Omit<ProblemDef, 'code' | 'name'> & {n: number; name: string}>

/** Every problem's symbolic name: a typo in a report or an action is a compile error. */
export type ProblemName = (typeof rows)[number]['name']

export const PROBLEMS: readonly ProblemDef[] = rows.map(({n, ...r}) => ({...r, code: P(r.pass) + n}))

const byName = new Map(PROBLEMS.map((p) => [p.name, p]))

export function problemDef(name: ProblemName): ProblemDef {
  const d = byName.get(name)
  if (!d) throw new Error(`unknown problem ${name}`)
  return d
}

export interface ProblemContext {
  ino?: number
  block?: number
  path?: string
  name?: string
  expected?: string | number
  found?: string | number
  detail?: string
}

/** One problem found: its row plus where. */
export interface Problem extends ProblemContext {
  code: number
  id: ProblemName
  pass: PassName
  severity: Severity
  message: string
}

export function formatCode(code: number): string {
  return `0x${code.toString(16).padStart(6, '0')}`
}

export function makeProblem(name: ProblemName, ctx: ProblemContext): Problem {
  const d = problemDef(name)
  const message = d.message.replace(/\{(\w+)\}/g, (_, k: string) => String((ctx as Record<string, unknown>)[k] ?? '?'))
  return {...ctx, code: d.code, id: d.name, pass: d.pass, severity: d.severity, message}
}
