/**
 * Worker thread of the PlanPool: plans cluster windows (compression and
 * CRCs, see data-plan.ts) and posts the plans back on its port, then bumps
 * the shared counter so a main thread blocked in PlanPool.take wakes up.
 */
import {parentPort, workerData, type MessagePort} from 'node:worker_threads'
import {planJobWindow} from './data-plan.js'
import {serializePlans, type PlanJob} from './plan-pool.js'

const {port, signal} = workerData as {port: MessagePort; signal: SharedArrayBuffer}
const counter = new Int32Array(signal)

port.on('message', (job: PlanJob) => {
  try {
    const input = Buffer.from(job.buf)
    const plans = job.windows.map((w) => planJobWindow(input.subarray(w.off, w.off + w.len), w, job.settings))
    const {out, plans: wire} = serializePlans(plans)
    port.postMessage({id: job.id, buf: job.buf, out, plans: wire}, [job.buf, out])
  } catch (e) {
    port.postMessage({id: job.id, error: (e as Error).stack ?? String(e)})
  }
  Atomics.add(counter, 0, 1)
  Atomics.notify(counter, 0)
})
void parentPort
