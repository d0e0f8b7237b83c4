/**
 * Runs the fsck core in a worker thread, so the command's main thread stays
 * free to draw progress and to turn SIGINT into fsck(8)'s "cancelled".
 */
import {parentPort, workerData} from 'node:worker_threads'
import {fsck, isRazorError, type FsckOptions} from '../../core/index.js'

const {path, opts} = workerData as {path: string; opts: Omit<FsckOptions, 'onPass'>}
try {
  const report = fsck(path, {...opts, onPass: (pass) => parentPort!.postMessage({pass})})
  parentPort!.postMessage({report})
} catch (e) {
  parentPort!.postMessage({
    error: isRazorError(e)
      ? {razor: true, code: e.code, message: e.message, data: e.data}
      : {razor: false, message: (e as Error).message, stack: (e as Error).stack},
  })
}
