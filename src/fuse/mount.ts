/**
 * Mounting and unmounting: open the image, attach a transport (kernel.ts or
 * libfuse.ts) at the mountpoint, commit periodically, and close the image
 * cleanly when the kernel lets go of the mount.
 */
import fs from 'node:fs'
import path from 'node:path'
import {Worker} from 'node:worker_threads'
import {Image, RazorError} from '../core/index.js'
import type {SerializedError, WorkerInput, WorkerMessage} from './kernel-worker.js'
import {SHARED_BYTES, SHARED_DIRTY, SHARED_SYNC_WANTED, wakeSession} from './kernel.js'
import {listenControl, type ControlServer} from './control.js'
import {MountError, PACKAGES_HINT, razorMounts, run, unmount, type MountedFs} from './mounts.js'
import {RazorFs} from './ops.js'
import type {MountOptions} from './options.js'

/** The options of the kernel mount (mount(8) -o): the device fd, ownership, access and mount flags. */
function kernelOptions(o: MountOptions, fd: number): string {
  const opts = [
    `fd=${fd}`,
    'rootmode=40000',
    `user_id=${process.getuid?.() ?? 0}`,
    `group_id=${process.getgid?.() ?? 0}`,
    `max_read=${o.maxWrite}`,
  ]
  if (o.allowOther) opts.push('allow_other')
  if (o.defaultPermissions) opts.push('default_permissions')
  if (o.readOnly) opts.push('ro')
  opts.push(o.suid ? 'suid' : 'nosuid', o.dev ? 'dev' : 'nodev', o.exec ? 'exec' : 'noexec')
  if (o.noatime) opts.push('noatime')
  return opts.join(',')
}

/** Check the mountpoint: an existing directory. */
export function checkMountpoint(mountpoint: string): string {
  const abs = path.resolve(mountpoint)
  let st: fs.Stats
  try {
    st = fs.statSync(abs)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO'
    if (code === 'ENOTCONN')
      throw new MountError(
        `${mountpoint}: a dead FUSE mount is still attached there; detach it with 'razorfs umount ${mountpoint}'`,
        'EBUSY',
      )
    throw new MountError(
      `${mountpoint}: ${code === 'ENOENT' ? 'no such directory; create it first' : (e as Error).message}`,
      code,
    )
  }
  if (!st.isDirectory()) throw new MountError(`${mountpoint}: not a directory`, 'ENOTDIR')
  return abs
}

/** Which transport: the kernel protocol needs root (to open /dev/fuse and call mount). */
export function chooseBackend(o: MountOptions): 'kernel' | 'libfuse' {
  if (o.backend !== 'auto') return o.backend
  return process.getuid?.() === 0 ? 'kernel' : 'libfuse'
}

/**
 * Mount `image` at `mountpoint`. The returned promise resolves once the mount
 * is live (the kernel's INIT is answered); errors leave nothing mounted and
 * the image closed.
 */
export async function mountImage(
  image: string,
  mountpoint: string,
  o: MountOptions,
  log: (m: string) => void = (m) => process.stderr.write(`razorfs: ${m}\n`),
): Promise<MountedFs> {
  const abs = checkMountpoint(mountpoint)
  const full = path.resolve(image)
  if (chooseBackend(o) === 'kernel') return mountKernel(image, full, abs, o, log)
  const {mountLibfuse} = await import('./libfuse.js')
  const img = Image.open(image, {readOnly: o.readOnly})
  const razor = new RazorFs(img, {noatime: o.noatime, syncOnClose: o.syncOnClose})
  try {
    return await mountLibfuse({image: full, mountpoint: abs, razor, o, log})
  } catch (e) {
    try {
      img.close()
    } catch {
      // report the mount failure
    }
    throw e
  }
}

function deserialize(e: SerializedError): Error {
  if (e.name === 'RazorError' && e.code) return new RazorError(e.code as never, e.message, e.data)
  return new MountError(e.message, e.code ?? 'EIO')
}

/**
 * The kernel transport: a worker thread opens the image (kernel-worker.ts);
 * then /dev/fuse is opened and mount(8) attaches it at the mountpoint; the
 * worker serves requests until the kernel ends the session.
 */
async function mountKernel(
  given: string,
  image: string,
  mountpoint: string,
  o: MountOptions,
  log: (m: string) => void,
): Promise<MountedFs> {
  let fd: number
  try {
    fd = fs.openSync('/dev/fuse', 'r+')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO'
    if (code === 'ENOENT')
      throw new MountError(
        `/dev/fuse does not exist: the fuse kernel module is not loaded (try 'modprobe fuse') or FUSE is not installed; ${PACKAGES_HINT}`,
        'ENODEV',
      )
    throw new MountError(
      `/dev/fuse: ${(e as Error).message}; mounting with -o backend=kernel needs root (without root razorfs uses libfuse)`,
      code,
    )
  }
  // the worker opens the image by the name given (its errors name it so), and takes the lock as this command
  const shared = new SharedArrayBuffer(SHARED_BYTES)
  const wakeNode = new BigInt64Array(shared, 0, 1)
  const flags = new Int32Array(shared)
  const input: WorkerInput = {image: given, fd, o, argv: process.argv.slice(1), shared}
  const worker = new Worker(new URL('./kernel-worker.js', import.meta.url), {
    workerData: input,
    stdout: false,
    stderr: false,
  })
  const messages: WorkerMessage[] = []
  let wake: (() => void) | undefined
  let exited = false
  /** razorfs sync requests waiting for the worker's commit, by number (SHARED_SYNC_WANTED). */
  const syncs = new Map<number, {resolve: () => void; reject: (e: Error) => void}>()
  worker.on('message', (m: WorkerMessage) => {
    if (m.type === 'synced') {
      for (const [n, p] of syncs) {
        if (n > m.upTo) continue
        syncs.delete(n)
        if (m.error) p.reject(deserialize(m.error))
        else p.resolve()
      }
      return
    }
    messages.push(m)
    wake?.()
  })
  worker.on('error', (e) => {
    messages.push({type: 'closed', error: {name: 'Error', code: 'EIO', message: `mount worker failed: ${e.message}`}})
    wake?.()
  })
  worker.on('exit', () => {
    exited = true
    wake?.()
  })
  const next = async (): Promise<WorkerMessage> => {
    while (!messages.length) {
      if (exited)
        return {type: 'closed', error: {name: 'Error', code: 'EIO', message: 'the mount worker ended unexpectedly'}}
      await new Promise<void>((r) => (wake = r))
      wake = undefined
    }
    return messages.shift()!
  }
  const fail = async (e: Error): Promise<never> => {
    worker.postMessage('abort')
    await new Promise<void>((r) => (exited ? r() : worker.once('exit', () => r())))
    fs.closeSync(fd)
    throw e
  }
  const opened = await next()
  if (opened.type === 'error') {
    fs.closeSync(fd)
    throw deserialize(opened.error)
  }
  if (opened.type !== 'opened') return fail(new MountError('the mount worker did not open the image', 'EIO'))
  const source = o.fsname ?? image
  const r = await run('mount', ['-i', '-n', '-t', 'fuse.razorfs', '-o', kernelOptions(o, 3), source, mountpoint], fd)
  if (r.status !== 0) {
    if (r.error) return fail(new MountError(`cannot run mount(8): ${r.error.message}`, r.error.code ?? 'EIO'))
    return fail(new MountError(`mount(8) failed: ${r.stderr || `exit status ${r.status}`}`, 'EIO'))
  }
  worker.postMessage('start')
  const timer = setTimeout(() => {
    messages.push({
      type: 'closed',
      error: {
        name: 'Error',
        code: 'ETIMEDOUT',
        message: `${mountpoint}: the kernel did not start the mount within 15 seconds`,
      },
    })
    wake?.()
  }, 15000)
  const ready = await next()
  clearTimeout(timer)
  if (ready.type !== 'ready') {
    await run('umount', ['-l', mountpoint])
    fs.closeSync(fd)
    throw deserialize(
      ready.type === 'closed' && ready.error
        ? ready.error
        : {name: 'Error', code: 'EIO', message: 'the mount ended before it started'},
    )
  }
  // From here on this process makes no system call on its own mount (not even stat): one that
  // is in flight when the process is SIGKILLed would keep /dev/fuse open, and the kernel would
  // then never abort the connection, leaving every user of the mount blocked.
  const dev = razorMounts().find((m) => m.mountpoint === mountpoint)?.dev
  if (dev) setReadahead(dev, o.maxWrite)
  let ended = false
  /**
   * Make the worker (blocked reading /dev/fuse) run once more. Through the
   * kernel when it holds a regular file (wakeSession: a write to /dev/fuse);
   * else a statfs(2) of the mount from a child process, which has no
   * descriptor of /dev/fuse: if this process dies meanwhile, the kernel still
   * aborts the connection, and the child's call ends with ENOTCONN.
   */
  const wakeWorker = (): void => {
    if (ended) return
    const node = Atomics.load(wakeNode, 0)
    if (node !== 0n) {
      try {
        return wakeSession(fd, node)
      } catch (e) {
        if (process.env.RAZORFS_DEBUG_WAKE) log(`wake through node ${node}: ${(e as Error).message}`)
      }
    }
    if (process.env.RAZORFS_DEBUG_WAKE) log('wake through stat -f')
    void run('stat', ['-f', '-c', '%i', mountpoint])
  }
  // wake the worker now and then while something waits to be committed (by the timer, or a
  // razorfs sync whose wake the kernel may have dropped), so that it commits even when idle
  const nudge = o.readOnly
    ? undefined
    : setInterval(
        () => (syncs.size || (o.commit && Atomics.load(flags, SHARED_DIRTY))) && wakeWorker(),
        o.commit ? Math.min(1000, (o.commit * 1000) / 2) : 1000,
      )
  const sync = (): Promise<void> => {
    if (o.readOnly) return Promise.resolve()
    if (ended) return Promise.reject(new MountError('the mount is ending', 'ENOTCONN'))
    const n = Atomics.add(flags, SHARED_SYNC_WANTED, 1) + 1
    return new Promise<void>((resolve, reject) => {
      syncs.set(n, {resolve, reject})
      wakeWorker()
    })
  }
  let control: ControlServer | undefined
  try {
    if (!dev) throw new Error(`${mountpoint} is not in /proc/self/mountinfo`)
    control = await listenControl(dev, image, sync)
  } catch (e) {
    log(`no control socket (razorfs sync will not reach this mount): ${(e as Error).message}`)
  }
  const closed = (async () => {
    const end = await next()
    ended = true
    if (nudge) clearInterval(nudge)
    control?.close()
    try {
      fs.closeSync(fd)
    } catch {
      // already closed
    }
    // the image is closed (everything committed) or failed
    for (const p of syncs.values()) end.type === 'closed' && end.error ? p.reject(deserialize(end.error)) : p.resolve()
    syncs.clear()
    if (end.type === 'closed' && end.error) throw deserialize(end.error)
  })()
  return {image, mountpoint, backend: 'kernel', recovery: opened.recovery, closed, unmount: () => unmount(mountpoint)}
}

/**
 * Let the kernel read ahead in requests as large as max_write (its default,
 * 128 KiB, would split a large sequential read into 128 KiB requests). Root
 * only; the mount works either way. The device number comes from
 * /proc/self/mountinfo: stat() on the mountpoint would wait for this very
 * process to answer; sysfs is not the mount.
 */
function setReadahead(dev: string, bytes: number): void {
  try {
    fs.writeFileSync(`/sys/class/bdi/${dev}/read_ahead_kb`, String(Math.floor(bytes / 1024)))
  } catch {
    // not root, or no sysfs: keep the default
  }
}
