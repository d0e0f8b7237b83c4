/**
 * Repair: rebuild a consistent filesystem from everything still readable,
 * in the steps of repair/ over one shared state.
 * Every item of every readable tree node (and of lost leaves: blocks marked
 * used, owned by nothing, that verify as leaves of this image) is collected;
 * bad items are dropped or fixed, directories are reconnected, counts are
 * recomputed; then a new tree is written, the bitmap is rebuilt from what is
 * in use, and the superblock switched over last. All data that is still
 * reachable stays where it is.
 *
 * The new tree is packed full (items are inserted in key order) and goes into
 * free blocks while there are any — then the old tree stays intact until the
 * switch. On a full image it goes into the blocks of the old tree, whose
 * items were all read in step 1 and are never read again: repair needs no
 * space beyond what the damaged image already uses (fsck runs it under the
 * undo log, which keeps the old blocks and rolls everything back unless the
 * result checks clean).
 */
import type {Volume} from '../fs/volume.js'
import {createState, type RepairOptions, type RepairResult} from './repair/state.js'
import {collectItems} from './repair/step1-collect.js'
import {groupItems} from './repair/step2-items.js'
import {claimBlocks} from './repair/step3-extents.js'
import {fixDirectories} from './repair/step4-directories.js'
import {fixCounts} from './repair/step5-counts.js'
import {buildTree} from './repair/step6-build.js'

export type {RepairAction, RepairOptions, RepairResult} from './repair/state.js'

export function repairVolume(v: Volume, opts: RepairOptions): RepairResult {
  const s = createState(v, opts)
  collectItems(s)
  groupItems(s)
  claimBlocks(s)
  fixDirectories(s)
  fixCounts(s)
  return buildTree(s)
}
