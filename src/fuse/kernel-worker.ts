/**
 * The worker thread that serves a kernel-transport mount. It owns the open
 * Image and answers /dev/fuse requests in a blocking loop (kernel.ts), so a
 * request costs no hand-over between threads, while the main thread stays
 * free for signals, unmounting and the commit timer.
 *
 * Protocol with mount.ts (messages): the worker opens the image and posts
 * {type: 'opened'} (or {type: 'error'}); the main thread mounts and posts
 * 'start' (or 'abort'); the worker posts {type: 'ready'} once the kernel's
 * INIT is answered, and {type: 'closed'} when the kernel has ended the
 * session and the image is closed. Between requests it commits when the
 * commit interval has passed, and when the main thread asked for a commit
 * (`razorfs sync`: SHARED_SYNC_WANTED counts the requests; the worker posts
 * {type: 'synced', upTo} once it has committed after them). The main thread
 * wakes it with wakeSession() (see mount.ts: never a system call of this
 * process on its own mount), which needs a regular file the kernel holds:
 * the worker publishes one in the shared memory (SHARED_WAKE_NODE), and
 * whether anything is uncommitted (SHARED_DIRTY).
 */
import {parentPort, workerData} from 'node:worker_threads'
import {Image, RazorError, type RecoveryReport} from '../core/index.js'
import {KernelSession, SHARED_DIRTY, SHARED_SYNC_WANTED} from './kernel.js'
import {RazorFs} from './ops.js'
import type {MountOptions} from './options.js'

export interface WorkerInput {
  image: string
  fd: number
  o: MountOptions
  shared: SharedArrayBuffer
  /** The command line of the process (the image lock records it). */
  argv: string[]
}

export interface SerializedError {
  name: string
  code?: string
  message: string
  data?: Record<string, unknown>
}

export type WorkerMessage =
  | {type: 'opened'; recovery?: RecoveryReport}
  | {type: 'error'; error: SerializedError}
  | {type: 'ready'}
  | {type: 'closed'; error?: SerializedError}
  | {type: 'synced'; upTo: number; error?: SerializedError}

export function serializeError(e: unknown): SerializedError {
  if (e instanceof RazorError) return {name: 'RazorError', code: e.code, message: e.message, data: e.data}
  const err = e as NodeJS.ErrnoException
  return {name: err?.name ?? 'Error', code: err?.code, message: err?.message ?? String(e)}
}

function main(): void {
  const port = parentPort!
  const post = (m: WorkerMessage) => port.postMessage(m)
  const {image, fd, o, argv, shared} = workerData as WorkerInput
  const flags = new Int32Array(shared)
  process.argv = [process.argv[0]!, ...argv]
  let razor: RazorFs
  try {
    razor = new RazorFs(Image.open(image, {readOnly: o.readOnly}), {noatime: o.noatime, syncOnClose: o.syncOnClose})
  } catch (e) {
    post({type: 'error', error: serializeError(e)})
    return
  }
  post({type: 'opened', recovery: razor.img.recovery})
  port.once('message', (m: string) => {
    let error: unknown
    if (m === 'start') {
      const every = o.commit * 1000
      let last = Date.now()
      let failing = false
      let synced = 0
      const session = new KernelSession(fd, razor, {
        maxWrite: o.maxWrite,
        attrTimeout: o.attrTimeout,
        debug: o.debug,
        wakeNode: new BigInt64Array(shared, 0, 1),
      })
      try {
        session.run(
          () => post({type: 'ready'}),
          () => {
            const wanted = Atomics.load(flags, SHARED_SYNC_WANTED)
            if (wanted !== synced) {
              // razorfs sync: commit now, and answer (even when it fails)
              let error: unknown
              try {
                razor.sync()
                last = Date.now()
              } catch (e) {
                error = e
              }
              synced = wanted
              post({type: 'synced', upTo: wanted, error: error === undefined ? undefined : serializeError(error)})
            } else if (every && Date.now() - last >= every) {
              last = Date.now()
              try {
                razor.sync()
                failing = false
              } catch (e) {
                if (!failing) process.stderr.write(`razorfs: commit failed: ${(e as Error).message}\n`)
                failing = true
              }
            }
            Atomics.store(flags, SHARED_DIRTY, razor.buffered > 0 || razor.img.uncommitted ? 1 : 0)
          },
        )
      } catch (e) {
        error = e
      }
    }
    try {
      razor.close()
    } catch (e) {
      error ??= e
    }
    post({type: 'closed', error: error === undefined ? undefined : serializeError(error)})
    port.close()
  })
}

main()
