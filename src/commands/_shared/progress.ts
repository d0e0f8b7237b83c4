/**
 * Progress for long synchronous phases (mkfs --root). Drawn with listr2 only
 * when interactive (see terminal.ts); otherwise the work just runs.
 */
import {Listr} from 'listr2'
import {displayName} from './names.js'
import {formatBytes} from './size.js'

export interface Counts {
  files: number
  bytes: number
  path: string
}

/** Redraw at most this often: populate calls back for every file. */
const REDRAW_MS = 100

function describe(title: string, c: Counts): string {
  return `${title}: ${c.files.toLocaleString('en-US')} files, ${formatBytes(c.bytes)}`
}

/**
 * Run `work`, which reports progress through the callback it is given.
 * With `show`, a listr2 task line shows the counts and the current path; redraws
 * happen synchronously from the callback, so a synchronous `work` still animates.
 */
export async function withProgress<T>(
  show: boolean,
  title: string,
  work: (report: (c: Counts) => void) => T,
): Promise<T> {
  if (!show) return work(() => {})
  let result: T | undefined
  const tasks = new Listr(
    [
      {
        title,
        task: (_ctx, task): void => {
          let last = 0
          let counts: Counts = {files: 0, bytes: 0, path: ''}
          result = work((c) => {
            counts = c
            const now = Date.now()
            if (now - last < REDRAW_MS) return
            last = now
            task.title = describe(title, c)
            task.output = displayName(c.path)
          })
          task.title = describe(title, counts)
        },
      },
    ],
    {exitOnError: true, rendererOptions: {showErrorMessage: false, collapseErrors: true}},
  )
  await tasks.run()
  return result as T
}
