/**
 * The commit policy of a copy into an image: entries are counted as the copy
 * yields them, and reported done only once a commit of the destination image
 * holds them (after a crash, every entry reported is complete). A commit is
 * made at least every `commitMs` and every few thousand entries, and when the
 * caller asks (at the end, before reporting a failure). Copying out to the
 * host has nothing to commit: each entry is reported at once.
 */
import type {Image} from '../image/image.js'
import {countEntry, emptyTotals, type CopyEntryEvent, type CopyEvent, type CopyTotals} from '../host/copy.js'

/** Commit the destination image at least this often (and at the end), unless told otherwise. */
export const DEFAULT_COMMIT_MS = 1000
/** ... and at least every this many entries. */
const COMMIT_ENTRIES = 20000

export interface CopyCommitOptions {
  /** The image being written (undefined when copying out to the host). */
  dest?: Image
  /** Called for each entry once it is durable. */
  onDone: (e: CopyEntryEvent) => void
  /** Commit at least this often, in milliseconds (0: after every entry). */
  commitMs?: number
}

export class CopyCommits {
  readonly totals: CopyTotals = emptyTotals()
  /** Bytes of the file in progress (not yet in totals). */
  partial = 0
  private pending: CopyEntryEvent[] = []
  private lastCommit = Date.now()

  constructor(private readonly opts: CopyCommitOptions) {}

  /** Count one event of a copy; commit (and report what the commit holds) when one is due. */
  record(e: CopyEvent): void {
    if (e.kind === 'progress') {
      this.partial += e.bytes
      return
    }
    if (e.kind === 'skipped') {
      this.totals.skipped++
      return
    }
    countEntry(this.totals, e)
    this.partial = 0
    if (!this.opts.dest) {
      this.opts.onDone(e)
      return
    }
    this.pending.push(e)
    if (
      Date.now() - this.lastCommit >= (this.opts.commitMs ?? DEFAULT_COMMIT_MS) ||
      this.pending.length >= COMMIT_ENTRIES
    )
      this.commit()
  }

  /** Make everything copied so far durable, then report it. */
  commit(): void {
    if (this.opts.dest && !this.opts.dest.readOnly) this.opts.dest.flush()
    this.lastCommit = Date.now()
    const done = this.pending
    this.pending = []
    for (const e of done) this.opts.onDone(e)
  }

  /** Entries copied but not yet committed (they are not reported). */
  get uncommitted(): number {
    return this.pending.length
  }
}
