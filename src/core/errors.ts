/**
 * Typed errors of the format library. Every failure the core reports is a
 * {@link RazorError} carrying one of the codes below; the CLI maps a code to a
 * message and exit status, the FUSE adapter maps it to an errno.
 */

/** One row per error kind: the POSIX errno it corresponds to (for FUSE) and a short description. */
export const ERROR_TABLE = {
  ENOTIMAGE: {errno: 'EINVAL', text: 'not a RAZORFS image'},
  EVERSION: {errno: 'EINVAL', text: 'unsupported format version'},
  EFEATURE: {errno: 'EINVAL', text: 'image uses features this tool does not support'},
  ETRUNCATED: {errno: 'EIO', text: 'image file is shorter than its superblock says'},
  ECHECKSUM: {errno: 'EIO', text: 'checksum mismatch'},
  ECORRUPT: {errno: 'EIO', text: 'image structure is corrupt'},
  ETOOSMALL: {errno: 'EINVAL', text: 'image too small'},
  EINVAL: {errno: 'EINVAL', text: 'invalid argument'},
  ENOSPC: {errno: 'ENOSPC', text: 'no space left in image'},
  EJOURNAL: {errno: 'ENOSPC', text: 'one operation needs more than the journal holds'},
  ENOENT: {errno: 'ENOENT', text: 'no such file or directory'},
  EEXIST: {errno: 'EEXIST', text: 'file exists'},
  ENOTDIR: {errno: 'ENOTDIR', text: 'not a directory'},
  EISDIR: {errno: 'EISDIR', text: 'is a directory'},
  ENOTEMPTY: {errno: 'ENOTEMPTY', text: 'directory not empty'},
  ENAMETOOLONG: {errno: 'ENAMETOOLONG', text: 'file name too long'},
  ENODATA: {errno: 'ENODATA', text: 'no such attribute'},
  ERANGE: {errno: 'ERANGE', text: 'value out of range'},
  EFBIG: {errno: 'EFBIG', text: 'file too large'},
  ELOOP: {errno: 'ELOOP', text: 'too many levels of symbolic links'},
  EROFS: {errno: 'EROFS', text: 'image is open read-only'},
  EOVERFLOW: {errno: 'EOVERFLOW', text: 'too many names with the same hash in one directory'},
  EMLINK: {errno: 'EMLINK', text: 'too many links'},
  EXDEV: {errno: 'EXDEV', text: 'cross-image link'},
  EIO: {errno: 'EIO', text: 'input/output error'},
  EBUSY: {errno: 'EBUSY', text: 'image is in use by another writer'},
  EOPNOTSUPP: {errno: 'EOPNOTSUPP', text: 'operation not supported'},
} as const

export type RazorErrorCode = keyof typeof ERROR_TABLE

/** Extra facts attached to an error: the block, inode or path it concerns. */
export interface RazorErrorData {
  block?: number
  ino?: number
  path?: string
  [key: string]: unknown
}

export class RazorError extends Error {
  readonly code: RazorErrorCode
  readonly data: RazorErrorData

  constructor(code: RazorErrorCode, message: string, data: RazorErrorData = {}) {
    super(message)
    this.name = 'RazorError'
    this.code = code
    this.data = data
  }

  /** The errno name a kernel filesystem would return for this error. */
  get errno(): string {
    return ERROR_TABLE[this.code].errno
  }

  toJSON(): {code: RazorErrorCode; message: string; data: RazorErrorData} {
    return {code: this.code, message: this.message, data: this.data}
  }
}

/** Shorthand used throughout the core: `throw fail('ENOENT', 'no such file', {path})`. */
export function fail(code: RazorErrorCode, message: string, data?: RazorErrorData): RazorError {
  return new RazorError(code, message, data)
}

export function isRazorError(e: unknown, code?: RazorErrorCode): e is RazorError {
  return e instanceof RazorError && (code === undefined || e.code === code)
}
