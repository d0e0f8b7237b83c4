/**
 * What the three copies share — host → image (populate.ts: copyIn), image →
 * host (extract.ts) and image → image (copy-image.ts): options, the events
 * they yield, problems, attribute rules and the byte limit.
 *
 * Each copy is a generator: it yields a `progress` event every few MiB of
 * data and an `entry` event when an entry is complete, so the caller can
 * draw progress, commit the image (and only then report files as done),
 * and stop cleanly between two steps (SIGINT). Returning early (the
 * generator's return()) cleans up: a partly written file is removed.
 */
import {newEntryAttrs, type ParentAttrs} from '../fs/new-entry.js'
import type {FileType, InodeAttrs, Timespec} from '../types.js'

/** What to do when the destination name exists and is not a directory both sides. */
export type Clobber = 'error' | 'skip' | 'replace'

export interface CopyOptions {
  /** Copy directories and everything below them (cp -r). Without it a directory source is an error. */
  recursive?: boolean
  /** Keep mode, owner, times (to the nanosecond) and extended attributes (cp -p). */
  preserve?: boolean
  /** Copy extended attributes (default: with preserve). */
  xattrs?: boolean
  /** Recreate hard links within the copied set (cp -a); otherwise each name gets its own copy. */
  hardlinks?: boolean
  /** Follow every symbolic link in the source (cp -L). */
  dereference?: boolean
  /** Follow the source itself when it is a symbolic link (cp without -r follows symlinks given as operands). */
  followTop?: boolean
  /** Existing destination entries: refuse (default), leave them (cp -n) or replace them (cp -f). Directories are merged. */
  clobber?: Clobber
  /** Device nodes are created only when this is set (default: with preserve); without it they are skipped with a warning. */
  devices?: boolean
  /** Permission bits cleared on new entries when not preserving (default: the process umask). */
  umask?: number
  /** Owner of new entries when not preserving (default: the process's uid and gid). */
  owner?: {uid: number; gid: number}
  /** Stop with ELIMIT once this many bytes of file data would have been written in total (holes are not counted). */
  limit?: number
  /** Problems that do not stop the copy: attributes the destination cannot hold, skipped special files. */
  onWarning?: (p: CopyProblem) => void
  /**
   * One entry failed (unreadable, exists, unsafe name, ...): it is skipped and
   * the copy goes on. Without this callback the first such error is thrown.
   */
  onError?: (p: CopyProblem) => void
}

export interface CopyProblem {
  /** errno-like code: ENOENT, EEXIST, EUNSAFE, ELOOP, EPERM, ... */
  code: string
  /** The entry, as the user would name it: a host path or IMAGE:PATH. */
  path: string
  /** What happened, for a one-line message after the path ("cannot create ...: File exists"). */
  message: string
}

export interface CopyEntryEvent {
  kind: 'entry'
  type: FileType
  /** Source and destination as the user names them (bytes: names need not be UTF-8). */
  src: Buffer
  dst: Buffer
  /** File bytes copied (logical size for regular files; 0 otherwise). */
  bytes: number
  /** Made as a hard link to an entry copied before. */
  link?: boolean
}

export interface CopyProgressEvent {
  kind: 'progress'
  /** Bytes of the current file copied since the previous event. */
  bytes: number
  src: Buffer
}

/** An existing destination entry left alone (clobber 'skip'). */
export interface CopySkippedEvent {
  kind: 'skipped'
  src: Buffer
  dst: Buffer
}

export type CopyEvent = CopyEntryEvent | CopyProgressEvent | CopySkippedEvent

export interface CopyTotals {
  files: number
  directories: number
  symlinks: number
  specials: number
  hardlinks: number
  bytes: number
  skipped: number
  errors: number
}

export function emptyTotals(): CopyTotals {
  return {files: 0, directories: 0, symlinks: 0, specials: 0, hardlinks: 0, bytes: 0, skipped: 0, errors: 0}
}

export function countEntry(t: CopyTotals, e: CopyEntryEvent): void {
  if (e.link) t.hardlinks++
  else if (e.type === 'file') t.files++
  else if (e.type === 'dir') t.directories++
  else if (e.type === 'symlink') t.symlinks++
  else t.specials++
  t.bytes += e.bytes
}

/**
 * One entry of a copy failed (unreadable, exists, unsafe name, ...): thrown
 * inside a copy and turned into a CopyProblem for onError, so the copy goes on
 * with the next entry.
 */
export class EntryFailure extends Error {
  constructor(
    readonly code: string,
    /** The entry, as the user names it. */
    readonly path: Buffer,
    message: string,
  ) {
    super(message)
  }

  problem(): CopyProblem {
    return {code: this.code, path: this.path.toString(), message: this.message}
  }
}

/** Emit a progress event at most every this many bytes. */
export const PROGRESS_BYTES = 8 * 1024 * 1024

/** Thrown (and passed through every copy) when the byte limit is reached. */
export class LimitReached extends Error {
  constructor(
    readonly limit: number,
    readonly path: string,
  ) {
    super(`copying ${path} would write more than the limit of ${limit} bytes`)
    this.name = 'LimitReached'
  }
}

/** Counts data bytes against CopyOptions.limit. */
export class ByteBudget {
  used = 0
  constructor(private readonly limit: number | undefined) {}
  take(n: number, path: string): void {
    if (this.limit !== undefined && this.used + n > this.limit) throw new LimitReached(this.limit, path)
    this.used += n
  }
}

const DOT = Buffer.from('.')
const DOTDOT = Buffer.from('..')

/**
 * Why a name read from an image may not be used as a host (or image) file
 * name, or undefined when it may: a hostile image can hold any bytes there.
 */
export function unsafeName(name: Buffer): string | undefined {
  if (name.length === 0) return 'an empty name'
  if (name.equals(DOT) || name.equals(DOTDOT)) return `the name '${name}'`
  if (name.includes(0x2f)) return "a name containing '/'"
  if (name.includes(0)) return 'a name containing NUL'
  if (name.length > 255) return 'a name longer than 255 bytes'
  return undefined
}

/** Mode bits of a new entry when not preserving: coreutils cp drops set-user-ID, set-group-ID and sticky, then applies the umask. */
export function plainMode(mode: number, umask: number): number {
  return mode & 0o777 & ~umask
}

let umaskMemo: number | undefined
/** The process umask (read once; reading it means setting it, so put it back at once). */
export function processUmask(): number {
  if (umaskMemo === undefined) {
    const m = process.umask(0o022)
    process.umask(m)
    umaskMemo = m
  }
  return umaskMemo
}

export function processOwner(): {uid: number; gid: number} {
  return {uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0}
}

export const isRoot = (): boolean => (process.geteuid?.() ?? -1) === 0

/**
 * Attributes for a new image entry when not preserving: the user's owner, the plain mode, times left to "now".
 * Given the directory it is made in, the core's new-entry rule applies (a set-group-ID parent passes on its group,
 * and its bit to directories), as on a mount.
 */
export function plainAttrs(
  mode: number,
  rdev: number | undefined,
  opts: CopyOptions,
  parent?: ParentAttrs,
): InodeAttrs {
  const owner = opts.owner ?? processOwner()
  const plain = (mode & 0o170000) | plainMode(mode, opts.umask ?? processUmask())
  if (!parent) return {mode: plain, uid: owner.uid, gid: owner.gid, rdev}
  return {...newEntryAttrs(parent, owner, plain), rdev}
}

export function join(a: Buffer, b: Buffer): Buffer {
  if (a.length === 0) return Buffer.from(b)
  return a[a.length - 1] === 0x2f ? Buffer.concat([a, b]) : Buffer.concat([a, Buffer.from('/'), b])
}

export function ts(t: Timespec): string {
  return `${t.sec}.${String(t.nsec).padStart(9, '0')}`
}

/** strerror-like text for the codes copies report. */
export const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EEXIST: 'File exists',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  ENOTEMPTY: 'Directory not empty',
  ENAMETOOLONG: 'File name too long',
  ELOOP: 'Too many levels of symbolic links',
  EINVAL: 'Invalid argument',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOSPC: 'No space left on device',
  EDQUOT: 'Disk quota exceeded',
  EFBIG: 'File too large',
  EMLINK: 'Too many links',
  EXDEV: 'Invalid cross-device link',
  EROFS: 'Read-only file system',
  ENODATA: 'No data available',
  ERANGE: 'Numerical result out of range',
  ENOTSUP: 'Operation not supported',
  EOPNOTSUPP: 'Operation not supported',
  EIO: 'Input/output error',
  EBUSY: 'Device or resource busy',
  ETXTBSY: 'Text file busy',
  EMFILE: 'Too many open files',
}

export function errnoText(code: string, fallback?: string): string {
  return ERRNO_TEXT[code] ?? fallback ?? code
}
