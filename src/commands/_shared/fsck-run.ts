/** Drives the fsck worker: pass events as progress, SIGINT as cancellation. */
import {Worker} from 'node:worker_threads'
import {Listr} from 'listr2'
import {passHeading, RazorError, type FsckOptions, type FsckReport, type RazorErrorCode} from '../../core/index.js'

export class Cancelled extends Error {}

/** fsck(8)'s "cancelled by the user". */
const CANCELLED_EXIT = 32

/** Run fsck in a worker; `onPass` (plain mode) or listr2 (`fancy`) shows the passes. */
export async function runFsck(
  path: string,
  opts: Omit<FsckOptions, 'onPass'>,
  show: {fancy: boolean; plain?: (line: string) => void},
): Promise<FsckReport> {
  const worker = new Worker(new URL('./fsck-worker.js', import.meta.url), {workerData: {path, opts}})
  const passes: string[] = []
  let wake: (() => void) | undefined
  let running = true
  const result = new Promise<FsckReport>((resolve, reject) => {
    // for the rest of the process: while fsck runs, stop it; after, still report the cancellation (fsck(8): 32)
    const onSigint = () => {
      if (!running) process.exit(CANCELLED_EXIT)
      running = false
      void worker.terminate()
      reject(new Cancelled('cancelled by the user'))
    }
    process.on('SIGINT', onSigint)
    worker.on(
      'message',
      (m: {
        pass?: string
        report?: FsckReport
        error?: {razor: boolean; code?: RazorErrorCode; message: string; data?: Record<string, unknown>; stack?: string}
      }) => {
        if (m.pass) {
          passes.push(m.pass)
          show.plain?.(passHeading(m.pass))
          wake?.()
        } else {
          running = false
          if (m.report) resolve(m.report)
          else if (m.error?.razor) reject(new RazorError(m.error.code!, m.error.message, m.error.data))
          else {
            const e = new Error(m.error?.message)
            e.stack = m.error?.stack
            reject(e)
          }
        }
        wake?.()
      },
    )
    worker.on('error', (e) => {
      running = false
      reject(e)
    })
  })
  if (!show.fancy) return result
  let finished = false
  void result.then(
    () => (finished = true),
    () => (finished = true),
  )
  // one listr2 task per pass, each done when the next pass starts (or fsck ends)
  const tasks = new Listr(
    [
      {
        title: 'Checking',
        task: async (_ctx, task): Promise<void> => {
          let seen = 0
          while (!finished) {
            await new Promise<void>((r) => (wake = r))
            while (seen < passes.length) task.title = `Checking: ${passHeading(passes[seen++]!)}`
          }
          task.title = 'Checked'
        },
      },
    ],
    {rendererOptions: {collapseSubtasks: false}, exitOnError: false},
  )
  await Promise.all([tasks.run().catch(() => {}), result.catch(() => {})])
  return result
}
