/**
 * Running copies (the core's copy generators) for cp: progress on a
 * terminal, commits of the destination image (a file is reported done only
 * once the commit that holds it has returned), per-file lines with
 * --verbose, and a clean stop on SIGINT/SIGTERM between two steps.
 */
import {Listr} from 'listr2'
import {
  countEntry,
  emptyTotals,
  type CopyEntryEvent,
  type CopyEvent,
  type CopyTotals,
  type Image,
} from '../../core/index.js'
import {displayName} from './names.js'
import {formatBytes} from './size.js'

/** Commit the destination image at least this often (and at the end), unless told otherwise. */
export const DEFAULT_COMMIT_MS = 1000
const COMMIT_ENTRIES = 20000
/** Give the event loop a turn (signals, progress drawing) this often. */
const TICK_MS = 40

type Steps = Iterator<CopyEvent, void> | AsyncIterator<CopyEvent, void>

export interface DriverOptions {
  /** The image being written (undefined when copying out to the host). */
  dest?: Image
  /** Called for each entry once it is durable. */
  onDone: (e: CopyEntryEvent) => void
  progress: boolean
  title: string
  /** Commit at least this often, in milliseconds (0: after every entry). */
  commitMs?: number
}

export class CopyDriver {
  readonly totals: CopyTotals = emptyTotals()
  interrupted: NodeJS.Signals | undefined
  private pending: CopyEntryEvent[] = []
  /** Bytes of the file in progress. */
  private partial = 0
  private lastCommit = Date.now()
  private lastTick = Date.now()
  private readonly started = Date.now()
  private readonly display: ProgressDisplay
  private readonly onSignal = (sig: NodeJS.Signals) => {
    if (this.interrupted) process.exit(128 + (sig === 'SIGINT' ? 2 : 15)) // a second signal: stop at once (the journal keeps the image consistent)
    this.interrupted = sig
  }

  constructor(private readonly opts: DriverOptions) {
    this.display = new ProgressDisplay(opts.progress, opts.title)
    process.on('SIGINT', this.onSignal)
    process.on('SIGTERM', this.onSignal)
  }

  get seconds(): number {
    return (Date.now() - this.started) / 1000
  }

  /** Run one copy to its end (or until a signal); returns false when interrupted. */
  async run(steps: Steps): Promise<boolean> {
    let finished = false
    try {
      for (;;) {
        const r = await steps.next()
        if (r.done) {
          finished = true
          break
        }
        this.handle(r.value)
        const now = Date.now()
        if (now - this.lastTick >= TICK_MS) {
          this.lastTick = now
          await new Promise((resolve) => setImmediate(resolve))
          if (this.interrupted) break
        }
      }
    } finally {
      // stopping early: let the copy clean up (a partly written file is removed)
      if (!finished) await steps.return?.()
    }
    return finished
  }

  private handle(e: CopyEvent): void {
    if (e.kind === 'progress') {
      this.partial += e.bytes
      this.display.update(this.totals.files, this.totals.bytes + this.partial, e.src)
      return
    }
    if (e.kind === 'skipped') {
      this.totals.skipped++
      return
    }
    countEntry(this.totals, e)
    this.partial = 0
    this.display.update(this.totals.files, this.totals.bytes, e.src)
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

  async finish(): Promise<void> {
    process.off('SIGINT', this.onSignal)
    process.off('SIGTERM', this.onSignal)
    await this.display.stop()
  }

  /** Entries copied but not yet committed (they are not reported). */
  get uncommitted(): number {
    return this.pending.length
  }
}

/** A listr2 line: files, bytes, rate and the current path; nothing when not shown. */
class ProgressDisplay {
  private task: {title: string; output?: string} | undefined
  private finish: (() => void) | undefined
  private running: Promise<unknown> | undefined
  private readonly started = Date.now()
  private last = 0

  constructor(
    show: boolean,
    private readonly title: string,
  ) {
    if (!show) return
    const done = new Promise<void>((resolve) => (this.finish = resolve))
    const list = new Listr(
      [
        {
          title,
          task: async (_ctx, task): Promise<void> => {
            this.task = task
            await done
          },
        },
      ],
      {
        registerSignalListeners: false,
        exitOnError: true,
        rendererOptions: {showErrorMessage: false, collapseErrors: true},
      },
    )
    this.running = list.run().catch(() => undefined)
  }

  update(files: number, bytes: number, path: Buffer): void {
    if (!this.task) return
    const now = Date.now()
    if (now - this.last < 100) return
    this.last = now
    const secs = Math.max(0.001, (now - this.started) / 1000)
    this.task.title = `${this.title}: ${files.toLocaleString('en-US')} files, ${formatBytes(bytes)}, ${formatBytes(Math.round(bytes / secs))}/s`
    this.task.output = displayName(path)
  }

  async stop(): Promise<void> {
    this.finish?.()
    await this.running
  }
}
