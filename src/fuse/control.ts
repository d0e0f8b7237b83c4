/**
 * The control channel of a mount, and dead mounts.
 *
 * Every serving process listens on a unix socket named after its mount's
 * device number (`/run/razorfs/fuse-0-53.sock` as root, else
 * `$TMPDIR/razorfs-UID/`), so a client finds it from /proc/self/mountinfo
 * alone, without any system call on the mount itself. One request a
 * connection, one JSON line each way: `{"op":"sync"}` answers once every
 * buffered write is committed and on disk; `{"op":"ping"}` answers at once.
 *
 * A mount whose server is gone (nothing answers and no live process holds
 * the image's lock) is cleaned up by aborting its FUSE connection
 * (/sys/fs/fuse/connections/N/abort: every process blocked in it gets
 * ENOTCONN) and detaching it.
 */
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {MountError, razorMounts, run, type MountInfo} from './mounts.js'

const ROOT_DIR = '/run/razorfs'
const userDir = (): string => path.join(os.tmpdir(), `razorfs-${process.getuid?.() ?? 0}`)
const socketName = (dev: string): string => `fuse-${dev.replace(':', '-')}.sock`

/** Where a client looks for the socket of the mount with device `dev` (root's first). */
export function controlCandidates(dev: string): string[] {
  const out = [path.join(ROOT_DIR, socketName(dev))]
  if (process.getuid?.() !== 0) out.push(path.join(userDir(), socketName(dev)))
  return out
}

/** The directory this process's servers put their sockets in: root's, or a private one (0700, ours). */
function serverDir(): string {
  if (process.getuid?.() === 0) {
    fs.mkdirSync(ROOT_DIR, {recursive: true, mode: 0o755})
    return ROOT_DIR
  }
  const dir = userDir()
  try {
    fs.mkdirSync(dir, {mode: 0o700})
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
  }
  const st = fs.lstatSync(dir)
  if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0)
    throw new Error(`${dir} is not a private directory of this user`)
  return dir
}

export interface ControlRequest {
  op: 'sync' | 'ping'
}

export interface ControlReply {
  ok?: boolean
  pid?: number
  image?: string
  error?: string
}

export interface ControlServer {
  readonly path: string
  close(): void
}

/**
 * Listen for control requests of the mount with device `dev`; `sync` must
 * resolve once everything written so far is committed and on disk.
 */
export async function listenControl(dev: string, image: string, sync: () => Promise<void>): Promise<ControlServer> {
  const file = path.join(serverDir(), socketName(dev))
  // a socket left there belongs to a dead mount: device numbers are unique among live mounts
  fs.rmSync(file, {force: true})
  const server = net.createServer((sock) => {
    let text = ''
    const answer = (r: ControlReply) => {
      if (!sock.destroyed) sock.end(JSON.stringify({pid: process.pid, image, ...r}) + '\n')
    }
    sock.on('error', () => {})
    sock.on('data', (d: Buffer) => {
      text += d.toString()
      if (!text.includes('\n')) {
        if (text.length > 4096) sock.destroy()
        return
      }
      let req: ControlRequest
      try {
        req = JSON.parse(text.slice(0, text.indexOf('\n'))) as ControlRequest
      } catch {
        return answer({error: 'bad request'})
      }
      if (req.op === 'ping') return answer({ok: true})
      if (req.op !== 'sync') return answer({error: `unknown request '${String(req.op)}'`})
      sync().then(
        () => answer({ok: true}),
        (e: Error) => answer({error: `commit failed: ${e.message}`}),
      )
    })
  })
  server.unref()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(file, () => resolve())
  })
  // any user of the mount may ask for a commit (root's directory is not writable by others)
  fs.chmodSync(file, process.getuid?.() === 0 ? 0o666 : 0o600)
  return {
    path: file,
    close: () => {
      server.close()
      fs.rmSync(file, {force: true})
    },
  }
}

/** One request to the server of the mount with device `dev`. Throws MountError ENOTCONN when nothing answers. */
export async function askServer(dev: string, req: ControlRequest, timeoutMs: number): Promise<ControlReply> {
  let last: NodeJS.ErrnoException | undefined
  for (const file of controlCandidates(dev)) {
    try {
      return await ask(file, req, timeoutMs)
    } catch (e) {
      last = e as NodeJS.ErrnoException
      if (last.code !== 'ENOENT' && last.code !== 'ECONNREFUSED') throw last
    }
  }
  throw new MountError(
    last?.code === 'ECONNREFUSED' ? 'its serving process is gone' : 'no serving process answers',
    'ENOTCONN',
  )
}

function ask(file: string, req: ControlRequest, timeoutMs: number): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(file)
    let text = ''
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            sock.destroy()
            reject(new MountError(`its serving process did not answer within ${timeoutMs / 1000} seconds`, 'ETIMEDOUT'))
          }, timeoutMs)
        : undefined
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'))
    sock.on('data', (d: Buffer) => (text += d.toString()))
    sock.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    sock.on('close', () => {
      clearTimeout(timer)
      const line = text.split('\n')[0]
      if (!line)
        return reject(new MountError('its serving process closed the connection without answering', 'ENOTCONN'))
      try {
        resolve(JSON.parse(line) as ControlReply)
      } catch {
        reject(new MountError('its serving process answered something unreadable', 'EIO'))
      }
    })
  })
}

/** The live process holding an image's writer lock (not a zombie), if any. */
function lockHolderAlive(image: string): boolean {
  let pid: number
  try {
    pid = (JSON.parse(fs.readFileSync(`${image}.lock`, 'utf8')) as {pid: number}).pid
    process.kill(pid, 0)
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat[stat.lastIndexOf(')') + 2] !== 'Z'
  } catch {
    return true
  }
}

/** Whether the mount's server is gone: nothing answers on its control socket and no live process holds its image. */
export async function isDead(m: MountInfo): Promise<boolean> {
  try {
    await askServer(m.dev, {op: 'ping'}, 3000)
    return false
  } catch {
    // no answer (or none in time): dead unless a live process still holds the image
    return !lockHolderAlive(m.source)
  }
}

/**
 * Abort the FUSE connection of a mount (every request in it fails with
 * ENOTCONN, every process blocked in it wakes) and detach it. Returns whether
 * the connection was still there to abort.
 */
export async function abortAndDetach(m: MountInfo): Promise<boolean> {
  const minor = m.dev.split(':')[1]
  let aborted = false
  const abort = `/sys/fs/fuse/connections/${minor}/abort`
  try {
    fs.writeFileSync(abort, '1')
    aborted = true
  } catch {
    // gone already (the kernel aborts it when the server's last descriptor closes), or no fusectl
  }
  // --no-canonicalize: no stat of the dead mountpoint; lazy: processes may still hold files there
  const r = await run('umount', ['-l', '-c', m.mountpoint])
  if (r.status !== 0 && razorMounts().some((x) => x.mountpoint === m.mountpoint && x.dev === m.dev))
    throw new MountError(
      `${m.mountpoint}: cannot detach the dead mount: ${r.stderr || r.error?.message || `umount exit status ${r.status}`}`,
      'EBUSY',
    )
  return aborted
}

/**
 * Clean up the dead mounts of `image`, and a dead mount at `mountpoint`,
 * before mounting; returns one line for each.
 */
export async function cleanupDeadMounts(image: string, mountpoint: string): Promise<string[]> {
  const notes: string[] = []
  for (const m of razorMounts()) {
    if (m.source !== image && m.mountpoint !== mountpoint) continue
    if (!(await isDead(m))) continue
    const aborted = await abortAndDetach(m)
    notes.push(
      `${m.mountpoint}: the process that served ${m.source} there is gone; ${aborted ? 'aborted its FUSE connection and ' : ''}detached the dead mount`,
    )
  }
  return notes
}
