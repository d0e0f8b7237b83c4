/**
 * Progress of a long build (mkfs), four ways:
 *  - tty:   a listr2 task line redrawn in place (a terminal, CI not set);
 *  - plain: a log line on stderr per phase and every few seconds (CI logs);
 *  - json:  NDJSON events on stderr, one object per line, for other tools;
 *  - none:  nothing (--quiet, --json without --progress=json).
 */
import {Listr} from 'listr2'
import {displayName} from './names.js'
import {formatBytes} from './size.js'
import {isInteractive} from './terminal.js'

export const PROGRESS_MODES = ['auto', 'tty', 'plain', 'json', 'none'] as const
export type ProgressMode = (typeof PROGRESS_MODES)[number]

export interface ProgressCounts {
  phase: string
  files: number
  bytes: number
  path: string
}

export interface Reporter {
  /** A phase starts (its name and a title for people). */
  phase(name: string, title: string): void
  progress(c: ProgressCounts): void
  warning(w: {code: string; path: string; message: string}): void
  /** Any other event (json mode only). */
  event(name: string, fields: Record<string, unknown>): void
}

/** The mode 'auto' stands for: tty on a terminal, plain elsewhere (CI, pipes), none when quiet. */
export function resolveMode(mode: ProgressMode, quiet: boolean): Exclude<ProgressMode, 'auto'> {
  if (mode !== 'auto') return mode
  if (quiet) return 'none'
  return isInteractive() ? 'tty' : 'plain'
}

const TTY_REDRAW_MS = 100
const JSON_EVERY_MS = 250
const PLAIN_EVERY_MS = 5000

function counts(c: ProgressCounts): string {
  return `${c.files.toLocaleString('en-US')} files, ${formatBytes(c.bytes)}`
}

/**
 * Run `work` with a reporter of the given mode. `prefix` starts plain lines
 * ("razorfs mkfs"). Under tty the work runs inside a listr2 task.
 */
export async function withReporter<T>(
  mode: Exclude<ProgressMode, 'auto'>,
  prefix: string,
  work: (r: Reporter) => Promise<T>,
): Promise<T> {
  const started = Date.now()
  const elapsed = () => Math.round((Date.now() - started) / 10) / 100
  if (mode === 'none') return work({phase() {}, progress() {}, warning() {}, event() {}})
  if (mode === 'json') {
    let last = 0
    const emit = (o: Record<string, unknown>) => process.stderr.write(JSON.stringify({...o, elapsed: elapsed()}) + '\n')
    return work({
      phase: (name, title) => emit({event: 'phase', phase: name, title}),
      progress: (c) => {
        const now = Date.now()
        if (now - last < JSON_EVERY_MS) return
        last = now
        emit({event: 'progress', ...c})
      },
      warning: (w) => emit({event: 'warning', ...w}),
      event: (name, fields) => emit({event: name, ...fields}),
    })
  }
  if (mode === 'plain') {
    let last = Date.now()
    let title = ''
    const line = (text: string) => process.stderr.write(`${prefix}: ${text}\n`)
    return work({
      phase: (_name, t) => {
        title = t
        line(`${t}...`)
      },
      progress: (c) => {
        const now = Date.now()
        if (now - last < PLAIN_EVERY_MS) return
        last = now
        line(`${title}: ${counts(c)}`)
      },
      warning() {},
      event() {},
    })
  }
  let result: T | undefined
  const tasks = new Listr(
    [
      {
        title: prefix,
        task: async (_ctx, task): Promise<void> => {
          let last = 0
          let title = prefix
          result = await work({
            phase: (_name, t) => {
              title = t
              task.title = t
            },
            progress: (c) => {
              const now = Date.now()
              if (now - last < TTY_REDRAW_MS) return
              last = now
              task.title = `${title}: ${counts(c)}`
              task.output = displayName(c.path)
            },
            warning() {},
            event() {},
          })
          task.title = `${prefix}: done in ${elapsed()} s`
        },
      },
    ],
    {exitOnError: true, rendererOptions: {showErrorMessage: false, collapseErrors: true}},
  )
  await tasks.run()
  return result as T
}
