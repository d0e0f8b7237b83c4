/**
 * What the mount, the libfuse transport, the control socket and the CLI all
 * need to know about mounts, whichever transport made them: the mounted
 * filesystem's handle, the mount error, the table of RAZORFS mounts, and
 * unmounting. Kept apart from mount.ts so that libfuse.ts and control.ts,
 * which mount.ts loads, do not import it back.
 */
import fs from 'node:fs'
import {spawn} from 'node:child_process'
import type {RecoveryReport} from '../core/index.js'

export interface MountedFs {
  readonly image: string
  readonly mountpoint: string
  readonly backend: 'kernel' | 'libfuse'
  /** What journal recovery did when the image was opened. */
  readonly recovery?: RecoveryReport
  /** Resolves once the kernel has released the mount and the image is closed (clean). */
  readonly closed: Promise<void>
  /** Unmount (lazily when busy: then `closed` waits for the last user). */
  unmount(): Promise<void>
}

/** A failure to mount, with the errno-like code the CLI reports. */
export class MountError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message)
    this.name = 'MountError'
  }
}

export const PACKAGES_HINT = 'install them with: sudo apt-get install libfuse2 fuse'

interface RunResult {
  status: number | null
  stderr: string
  error?: NodeJS.ErrnoException
}

/** Run a program without blocking the event loop (it may need this process to answer FUSE requests). */
export function run(cmd: string, args: string[], extraFd?: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const stdio: Array<'ignore' | 'pipe' | number> = ['ignore', 'ignore', 'pipe']
    if (extraFd !== undefined) stdio.push(extraFd)
    let stderr = ''
    const child = spawn(cmd, args, {stdio})
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', (error: NodeJS.ErrnoException) => resolve({status: null, stderr, error}))
    child.on('close', (status) => resolve({status, stderr: stderr.trim()}))
  })
}

/**
 * Unmount a FUSE mountpoint. When it is busy: with `lazy`, detach it (it goes
 * away when its last user does), else fail with EBUSY.
 */
export async function unmount(mountpoint: string, lazy = true): Promise<void> {
  const root = process.getuid?.() === 0
  // -c (--no-canonicalize): umount(8) does not stat the mountpoint (a call into the mount)
  const tries: Array<[string, string[]]> = root
    ? [['umount', ['-c', mountpoint]]]
    : [['fusermount', ['-u', mountpoint]]]
  if (lazy) tries.push(root ? ['umount', ['-l', '-c', mountpoint]] : ['fusermount', ['-u', '-z', mountpoint]])
  let last: RunResult | undefined
  for (const [cmd, args] of tries) {
    last = await run(cmd, args)
    if (last.status === 0) return
    if (last.error?.code === 'ENOENT')
      throw new MountError(`cannot run ${cmd}: not installed; ${PACKAGES_HINT}`, 'ENOENT')
  }
  const text = last?.stderr || 'unmount failed'
  throw new MountError(
    `${mountpoint}: ${text.replace(/^(umount|fusermount): /, '')}`,
    /busy/i.test(text) ? 'EBUSY' : 'EINVAL',
  )
}

/** A mount of a RAZORFS image, as /proc/self/mountinfo shows it. */
export interface MountInfo {
  mountpoint: string
  source: string
  fstype: string
  /** The mount's device number, "major:minor" (the minor is its /sys/fs/fuse/connections/ entry). */
  dev: string
}

const unescape = (s: string): string =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))

export function razorMounts(): MountInfo[] {
  let text: string
  try {
    text = fs.readFileSync('/proc/self/mountinfo', 'utf8')
  } catch {
    return []
  }
  const out: MountInfo[] = []
  for (const line of text.split('\n')) {
    const f = line.split(' ')
    const dash = f.indexOf('-')
    if (dash < 0) continue
    const fstype = f[dash + 1] ?? ''
    if (
      fstype !== 'fuse.razorfs' &&
      fstype !== 'fuse.razorfs-libfuse' &&
      !(fstype === 'fuse' && f[dash + 2] === 'razorfs')
    )
      continue
    out.push({mountpoint: unescape(f[4]!), source: unescape(f[dash + 2] ?? ''), fstype, dev: f[2] ?? ''})
  }
  return out
}
