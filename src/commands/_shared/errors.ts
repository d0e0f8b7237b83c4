/**
 * Turning any error into one line, an error code and an exit status.
 * RazorError codes are mapped in exactly one place: {@link describeRazorError}.
 */
import {posix} from 'node:path'
import {getSystemErrorMap} from 'node:util'
import {ERROR_TABLE, RazorError, type RazorErrorCode} from '../../core/index.js'
import {EXIT, type ExitCode} from './exit-codes.js'

/** A failure the CLI itself detects, with its own code and exit status. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exit: ExitCode = EXIT.FAILED,
    readonly code: string = 'EFAILED',
    readonly data?: Record<string, unknown>,
  ) {
    super(message)
    this.name = 'CommandError'
  }
}

/** Bad flags or arguments (exit 2). Also thrown from flag parsers. */
export class UsageError extends CommandError {
  constructor(message: string) {
    super(message, EXIT.USAGE, 'EUSAGE')
    this.name = 'UsageError'
  }
}

/** A problem with a file on the host, shaped like a Node system error (exit 4). */
export class HostError extends CommandError {
  constructor(
    readonly path: string,
    code: string,
    text: string,
  ) {
    super(`${path}: ${text}`, EXIT.HOST_IO, code)
    this.name = 'HostError'
  }
}

/** What the error concerns, so messages can name it. */
export interface ErrorContext {
  /** Host path of the image. */
  image?: string
  /** Path inside the image. */
  path?: string
}

/** The one-line report of an error. */
export interface ErrorReport {
  code: string
  message: string
  /** Exit status: see exit-codes.ts (fsck has its own). */
  exit: number
  data?: Record<string, unknown>
}

/** Codes that mean the image as a whole cannot be used (exit 3). */
const UNUSABLE_IMAGE: ReadonlySet<RazorErrorCode> = new Set([
  'ENOTIMAGE',
  'EVERSION',
  'EFEATURE',
  'ETRUNCATED',
  'ECHECKSUM',
  'ECORRUPT',
])

/** Codes that concern the image rather than one path inside it. */
const IMAGE_LEVEL: ReadonlySet<RazorErrorCode> = new Set([
  ...UNUSABLE_IMAGE,
  'ETOOSMALL',
  'ENOSPC',
  'EJOURNAL',
  'EROFS',
  'EIO',
  'EBUSY',
])

/** A way out, per code; `image` and `path` are what the error concerns, when known. */
type Hint = (image: string, path: string | undefined) => string | undefined

const fsckHint: Hint = (image) => `run 'razorfsck ${image}' to check it`
const upgradeHint: Hint = () => 'it was made by a newer razorfs; upgrade razorfs to read it'

const RAZOR_HINTS: Partial<Record<RazorErrorCode, Hint>> = {
  ENOTIMAGE: () => "check the path or create one with 'razorfs mkfs'",
  EVERSION: upgradeHint,
  EFEATURE: upgradeHint,
  ETRUNCATED: (image) => `it was probably cut short while copying; copy it again or run 'razorfsck ${image}'`,
  ECHECKSUM: fsckHint,
  ECORRUPT: fsckHint,
  ETOOSMALL: () => 'give a larger --size',
  ENOSPC: () => 'make a larger image with --size (or --size auto with --root)',
  ENOENT: (image, path) =>
    path === undefined ? undefined : `see what is there with 'razorfs ls ${joinPath(image, posix.dirname(path))}'`,
  EISDIR: (image, path) => `list it with 'razorfs ls ${joinPath(image, path)}'`,
}

/** Exit status for a RazorError code. */
export function exitForRazorCode(code: RazorErrorCode): ExitCode {
  if (UNUSABLE_IMAGE.has(code)) return EXIT.BAD_IMAGE
  if (code === 'EIO') return EXIT.HOST_IO
  return EXIT.FAILED
}

function joinPath(image: string | undefined, path: string | undefined): string | undefined {
  if (image === undefined) return path
  return path === undefined ? image : `${image}:${path.startsWith('/') ? path : '/' + path}`
}

/**
 * The core's messages already say what went wrong, often starting with the
 * image path (image-level errors) or the path inside the image (data.path).
 * Make sure the line names the image and path, and add a way out unless the
 * message already has one (after a ';').
 */
export function describeRazorError(err: RazorError, ctx: ErrorContext): ErrorReport {
  const {code, data} = err
  const path = typeof data.path === 'string' ? data.path : undefined
  let message = err.message.trim() || (ERROR_TABLE[code]?.text ?? code)
  const startsWith = (prefix: string | undefined): boolean =>
    prefix !== undefined && prefix !== '' && (message.startsWith(prefix + ':') || message.startsWith(prefix + ' '))
  if (IMAGE_LEVEL.has(code)) {
    if (ctx.image !== undefined && !startsWith(ctx.image)) message = `${ctx.image}: ${message}`
  } else if (path !== undefined && startsWith(path)) {
    if (ctx.image !== undefined && !startsWith(ctx.image))
      message = `${joinPath(ctx.image, path)}${message.slice(path.length)}`
  } else if (!startsWith(ctx.image)) {
    const subject = joinPath(ctx.image, path ?? ctx.path)
    if (subject !== undefined) message = `${subject}: ${message}`
  }
  const hint = RAZOR_HINTS[code]?.(ctx.image ?? 'IMAGE', path ?? ctx.path)
  if (hint && !message.includes('; ')) message += `; ${hint}`
  return {code, message, exit: exitForRazorCode(code), data: Object.keys(data).length > 0 ? {...data} : undefined}
}

const HOST_HINTS: Record<string, string> = {
  ENOENT: 'check the path',
  EACCES: "check the file's permissions",
  EPERM: "check the file's permissions",
  EROFS: 'the host file system is read-only',
  ENOSPC: 'free some space on the host',
  EISDIR: 'expected a file, not a directory',
  ENOTDIR: 'a component of the path is not a directory',
}

/** Errors from Node's fs/os layer: they carry a string code and a numeric errno. */
export function isSystemError(err: unknown): err is NodeJS.ErrnoException & {code: string} {
  return (
    err instanceof Error &&
    typeof (err as NodeJS.ErrnoException).code === 'string' &&
    typeof (err as NodeJS.ErrnoException).errno === 'number'
  )
}

/** strerror-like text for a Node system error. */
export function systemErrorText(err: NodeJS.ErrnoException): string {
  const entry = typeof err.errno === 'number' ? getSystemErrorMap().get(err.errno) : undefined
  return entry?.[1] ?? err.message
}

export function hostErrorMessage(path: string | undefined, code: string, text: string): string {
  const hint = HOST_HINTS[code]
  return `${path ? `${path}: ` : ''}${text}${hint ? `; ${hint}` : ''}`
}

/** oclif's parser errors carry a `parse` property; their messages are multi-line. */
function isParseError(err: unknown): err is Error {
  return err instanceof Error && ('parse' in err || /^Parsing --\S+/.test(err.message))
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '') ?? text.trim()
  )
}

/** Rewrite oclif parser messages to one line: "--size: <reason>" or "Missing 1 required arg: IMAGE". */
function usageMessage(err: Error, commandId: string | undefined): string {
  const flagParse = /^Parsing --(\S+)\s*\n\t([^\n]*)/.exec(err.message)
  const missing = /^Missing \d+ required args?:\n(\S+)/.exec(err.message)
  const unknown = /^Nonexistent flags?: (.*)/.exec(err.message)
  const unexpected = /^Unexpected arguments?: (.*)/.exec(err.message)
  let text: string
  if (flagParse) text = `--${flagParse[1]}: ${flagParse[2]}`
  else if (missing) text = `missing ${missing[1]}`
  else if (unknown) text = `unknown flag ${unknown[1]}`
  else if (unexpected) text = `unexpected argument ${unexpected[1]}`
  else {
    const lines = err.message
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !/^See more help with/.test(l))
    text = lines.length > 1 && lines[0].endsWith(':') ? `${lines[0]} ${lines[1]}` : firstLine(lines.join('\n'))
    text = text.replace(/\s{2,}/g, ' ')
  }
  const help = commandId ? `razorfs ${commandId} --help` : 'razorfs --help'
  return `${text}; see '${help}'`
}

/** An error raised while the command line was being parsed: always a usage error (exit 2). */
export function describeUsageError(err: unknown, commandId?: string): ErrorReport {
  const error = err instanceof Error ? err : new Error(String(err))
  return {code: 'EUSAGE', message: usageMessage(error, commandId), exit: EXIT.USAGE}
}

/** Describe any thrown value as one line plus exit status. */
export function describeError(err: unknown, ctx: ErrorContext = {}, commandId?: string): ErrorReport {
  if (err instanceof RazorError) return describeRazorError(err, ctx)
  if (err instanceof UsageError) return {code: err.code, message: usageMessage(err, commandId), exit: err.exit}
  if (err instanceof CommandError) return {code: err.code, message: err.message, exit: err.exit, data: err.data}
  if (isParseError(err)) return {code: 'EUSAGE', message: usageMessage(err, commandId), exit: EXIT.USAGE}
  if (isSystemError(err)) {
    return {
      code: err.code,
      message: hostErrorMessage(
        err.path ?? (err as {dest?: string}).dest ?? err.syscall,
        err.code,
        systemErrorText(err),
      ),
      exit: EXIT.HOST_IO,
    }
  }
  const message = err instanceof Error ? err.message : String(err)
  return {
    code: 'EINTERNAL',
    message: `internal error: ${firstLine(message)}; run with --debug for a stack trace`,
    exit: EXIT.FAILED,
  }
}
