/**
 * Pass 1: the journal. Opening the image (read-only) replays it in memory;
 * this reports what that replay found: committed transactions not yet home,
 * a corrupt or torn last transaction, and file data a committed transaction
 * wrote that fails its checksum.
 */
import type {RecoveryReport} from '../../image/image.js'
import type {DamagedData} from '../../image/damage.js'
import type {ProblemContext, ProblemName} from '../problems.js'

export function journalPass(
  recovery: RecoveryReport | undefined,
  add: (name: ProblemName, ctx: ProblemContext) => void,
): void {
  if (!recovery) return
  if (recovery.transactions) add('JOURNAL_NEEDS_RECOVERY', {found: recovery.transactions})
  const d = recovery.discarded
  if (d) add(d.state === 'corrupt' ? 'JOURNAL_CORRUPT' : 'JOURNAL_TORN', {found: d.seq, detail: d.reason})
  for (const x of recovery.damaged ?? []) if (x.ino !== undefined) add('JOURNAL_DATA_DAMAGED', damagedContext(x))
}

/** Where a damaged block recovery found lies, as a problem's context. */
function damagedContext(x: DamagedData): ProblemContext {
  const what =
    x.xattr !== undefined
      ? `the value of xattr ${x.xattr}`
      : `bytes ${x.offset}-${x.offset! + x.length! - 1}${x.pack !== undefined ? ` (a packed tail; pack at block ${x.pack})` : ''}`
  return {
    ino: x.ino,
    path: x.path || `inode ${x.ino}`,
    block: x.block,
    found: x.seq,
    detail: `${what} (inode ${x.ino}, block ${x.block})`,
  }
}
