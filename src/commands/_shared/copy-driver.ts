/**
 * Running copies (the core's copy generators) for cp: progress on a
 * terminal and a clean stop on SIGINT/SIGTERM between two steps. When to
 * commit the destination image and report entries done is the core's
 * CopyCommits.
 */
import {Listr} from 'listr2'
import {CopyCommits, type CopyCommitOptions, type CopyEvent, type CopyTotals} from '../../core/index.js'
import {displayName} from './names.js'
import {formatBytes} from './size.js'

/** Give the event loop a turn (signals, progress drawing) this often. */
const TICK_MS = 40

type Steps = Iterator<CopyEvent, void> | AsyncIterator<CopyEvent, void>

export interface DriverOptions extends CopyCommitOptions {
  progress: boolean
  title: string
}

export class CopyDriver {
  interrupted: NodeJS.Signals | undefined
  private readonly commits: CopyCommits
  private lastTick = Date.now()
  private readonly started = Date.now()
  private readonly display: ProgressDisplay
  private readonly onSignal = (sig: NodeJS.Signals) => {
    if (this.interrupted) process.exit(128 + (sig === 'SIGINT' ? 2 : 15)) // a second signal: stop at once (the journal keeps the image consistent)
    this.interrupted = sig
  }

  constructor(private readonly opts: DriverOptions) {
    this.display = new ProgressDisplay(opts.progress, opts.title)
    this.commits = new CopyCommits(opts)
    process.on('SIGINT', this.onSignal)
    process.on('SIGTERM', this.onSignal)
  }

  get totals(): CopyTotals {
    return this.commits.totals
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
    this.commits.record(e)
    if (e.kind !== 'skipped') this.display.update(this.totals.files, this.totals.bytes + this.commits.partial, e.src)
  }

  /** Make everything copied so far durable, then report it. */
  commit(): void {
    this.commits.commit()
  }

  async finish(): Promise<void> {
    process.off('SIGINT', this.onSignal)
    process.off('SIGTERM', this.onSignal)
    await this.display.stop()
  }

  /** Entries copied but not yet committed (they are not reported). */
  get uncommitted(): number {
    return this.commits.uncommitted
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
