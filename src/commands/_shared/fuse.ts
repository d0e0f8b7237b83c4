/** The FUSE adapter's errors as CLI errors (mount and umount). */
import fs from 'node:fs'
import {FsError} from '../../fuse/errno.js'
import {MountError} from '../../fuse/mounts.js'
import {CommandError, UsageError} from './errors.js'
import {EXIT} from './exit-codes.js'

/** Turn the adapter's own errors into the CLI's: bad -o values are usage errors, host paths exit 4. */
export function cliError(e: unknown): unknown {
  if (e instanceof MountError) {
    if (['ENOENT', 'ENOTDIR', 'EACCES'].includes(e.code) && !e.message.startsWith('/dev/fuse'))
      return new CommandError(e.message, EXIT.HOST_IO, e.code)
    return new CommandError(e.message, EXIT.FAILED, e.code)
  }
  if (e instanceof FsError) return new UsageError(e.message)
  return e
}

/** The pid holding an image's writer lock, when that process is still running (not a zombie). */
export function liveLockHolder(image: string): number | undefined {
  let pid: number
  try {
    pid = (JSON.parse(fs.readFileSync(`${image}.lock`, 'utf8')) as {pid: number}).pid
    process.kill(pid, 0)
  } catch {
    return undefined
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    if (stat[stat.lastIndexOf(')') + 2] === 'Z') return undefined
  } catch {
    // no /proc: trust kill(0)
  }
  return pid
}
