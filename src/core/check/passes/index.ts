/**
 * The pass table of the check: each pass of PASS_LIST that runs on an open
 * volume, with its code. Passes 0 (superblock) and 1 (journal) run before the
 * volume can be opened, in fsck.ts (pass0-superblock.ts, pass1-journal.ts).
 */
import {PASS_LIST, type PassName} from '../pass-list.js'
import type {CheckContext} from './context.js'
import {treePass} from './pass2-tree.js'
import {extentsPass} from './pass3-extents.js'
import {directoriesPass} from './pass4-directories.js'
import {linksPass} from './pass5-links.js'
import {xattrsPass} from './pass6-xattrs.js'
import {spacePass} from './pass7-space.js'
import {dataPass} from './pass8-data.js'

export interface PassEntry {
  number: number
  name: PassName
  title: string
  run: (c: CheckContext) => void
  /** Runs only when this says so (default: always). */
  when?: (c: CheckContext) => boolean
}

const RUN: Partial<Record<PassName, Pick<PassEntry, 'run' | 'when'>>> = {
  tree: {run: treePass},
  extents: {run: extentsPass},
  directories: {run: directoriesPass},
  links: {run: linksPass},
  xattrs: {run: xattrsPass},
  space: {run: spacePass},
  data: {run: dataPass, when: (c) => Boolean(c.opts.checkData)},
}

export const PASS_TABLE: readonly PassEntry[] = PASS_LIST.filter((p) => RUN[p.name]).map((p) => ({
  ...p,
  ...RUN[p.name]!,
}))
