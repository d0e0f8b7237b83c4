/**
 * Errors of the FUSE adapter as errno values. {@link errnoOf} is the one
 * place where anything thrown while serving a request becomes the errno a
 * kernel filesystem would return.
 */
import {constants} from 'node:os'
import {RazorError} from '../core/index.js'

const ERRNO = constants.errno as Record<string, number>

/** A failure the adapter itself detects (bad handle, unsupported flag, ...). */
export class FsError extends Error {
  readonly errno: string

  constructor(errno: string, message = errno) {
    // routine answers (ENODATA for every getxattr ls -l makes, ...): no stack trace to capture
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    super(message)
    Error.stackTraceLimit = limit
    this.errno = errno
    this.name = 'FsError'
  }
}

/** Errno number of a name (ENOENT → 2); EIO for a name this platform lacks. */
export function errnoNumber(name: string): number {
  return ERRNO[name] ?? ERRNO.EIO!
}

/** The errno name for anything thrown by an operation. */
export function errnoName(e: unknown): string {
  if (e instanceof RazorError) return e.errno
  if (e instanceof FsError) return e.errno
  const code = (e as NodeJS.ErrnoException | undefined)?.code
  if (typeof code === 'string' && ERRNO[code] !== undefined) return code
  return 'EIO'
}

/** The positive errno number for anything thrown by an operation. */
export function errnoOf(e: unknown): number {
  return errnoNumber(errnoName(e))
}

/** Whether an error is one a kernel filesystem returns routinely (not worth logging). */
export function isExpected(e: unknown): boolean {
  if (e instanceof FsError) return true
  if (e instanceof RazorError) return !['ECHECKSUM', 'ECORRUPT', 'EIO', 'ETRUNCATED'].includes(e.code)
  return false
}
