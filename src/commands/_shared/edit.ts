/**
 * What the editing commands (mkdir, rm, mv, ln, chmod, chown, touch,
 * truncate, xattr) share: IMAGE:PATH operands opened read-write once per
 * image, coreutils-style messages for each operand that fails (the command
 * goes on with the others and exits 1, as coreutils does), and locating the
 * parent directory and last component of a path the way the kernel does.
 *
 * Every change is one journaled operation of the core (or a sequence of
 * them, each atomic); the images are committed and closed before the
 * command exits.
 */
import {errnoText, isRazorError, newEntryAttrs, RazorError, type Image, type NewEntryAttrs} from '../../core/index.js'
import {BaseCommand} from '../_base.js'
import type {Command} from '@oclif/core'
import {EXIT} from './exit-codes.js'
import {displayName} from './names.js'
import {ImageSet} from './open.js'
import {parseOperand, type Operand} from './operand.js'
import {colors} from './terminal.js'

export const ROOT_INO = 1

/** Failures that concern one operand: reported, and the command goes on with the next one. */
const OPERAND_LEVEL = new Set([
  'ENOENT',
  'ENOTDIR',
  'EEXIST',
  'EISDIR',
  'ENOTEMPTY',
  'ENAMETOOLONG',
  'ELOOP',
  'EINVAL',
  'EMLINK',
  'EXDEV',
  'ENODATA',
  'ERANGE',
  'EFBIG',
  'EOVERFLOW',
  'EPERM',
])

/** A failure already worded for the user ("cannot remove 'x': Is a directory"). */
export class OperandError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message)
    this.name = 'OperandError'
  }
}

/** "VERB 'TEXT': strerror(CODE)", the shape of most coreutils messages. */
export function opError(verb: string, text: string, code: string): OperandError {
  return new OperandError(`${verb} '${text}': ${errnoText(code)}`, code)
}

/** A RazorError's code when it concerns one operand (missing, exists, not a directory, ...). */
export function operandCode(e: unknown): string | undefined {
  return isRazorError(e) && OPERAND_LEVEL.has(e.code) ? e.code : undefined
}

/** Where a path points: its parent directory and last component (not following a final symlink). */
export interface Target {
  img: Image
  /** The operand as the user wrote it. */
  text: string
  /** The path inside the image, as written. */
  raw: string
  /** Parent directory inode. */
  dir: number
  /** Last component; undefined for the root. */
  name: Buffer | undefined
  /** The entry itself, if it exists (a final symlink is not followed). */
  ino: number | undefined
  /** Written with a trailing '/'. */
  slash: boolean
  /** The last component is '.' or '..'. */
  dot: boolean
}

export interface EditResult {
  /** One entry per operand (or per changed file with -R). */
  results: Array<{path: string; ok: boolean; message?: string; code?: string}>
}

export abstract class EditCommand<T extends typeof Command> extends BaseCommand<T> {
  protected readonly images = new ImageSet((m) => this.warnLine(m))
  protected readonly results: EditResult['results'] = []
  private failed = false

  /** Parse an IMAGE:PATH operand and open its image read-write. */
  protected operand(text: string): {op: Operand; img: Image} {
    const op = parseOperand(text)
    this.context = {image: op.image}
    return {op, img: this.images.get(op.image, true)}
  }

  /** Parent, last component and entry of `raw` inside `img`. Throws RazorError ENOENT/ENOTDIR for a missing or non-directory parent. */
  protected locate(img: Image, text: string, raw: string): Target {
    const parts = raw.split('/').filter((p) => p !== '')
    const slash = /\/$/.test(raw) && parts.length > 0
    if (parts.length === 0)
      return {img, text, raw, dir: ROOT_INO, name: undefined, ino: ROOT_INO, slash: false, dot: false}
    const last = parts.pop()!
    const dir = img.resolve('/' + parts.join('/'), {follow: true})
    if (img.stat(dir).type !== 'dir') throw new RazorError('ENOTDIR', `${raw}: not a directory`)
    const name = Buffer.from(last)
    if (last === '.') return {img, text, raw, dir, name, ino: dir, slash, dot: true}
    if (last === '..') return {img, text, raw, dir, name, ino: img.stat(dir).parent, slash, dot: true}
    return {img, text, raw, dir, name, ino: img.lookup(dir, name), slash, dot: false}
  }

  /** Run the work for one operand; a failure of that operand is printed and remembered. */
  protected attempt(text: string, describe: (code: string) => OperandError, fn: () => void): boolean {
    try {
      fn()
      this.results.push({path: text, ok: true})
      return true
    } catch (e) {
      let err: OperandError
      if (e instanceof OperandError) err = e
      else {
        const code = operandCode(e)
        if (!code) throw e
        err = describe(code)
      }
      this.fail(text, err)
      return false
    }
  }

  /** Report one operand's failure. */
  protected fail(text: string, err: OperandError): void {
    this.failed = true
    this.results.push({path: text, ok: false, message: err.message, code: err.code})
    if (!this.jsonEnabled()) process.stderr.write(`${colors().err.red('razorfs:')} ${displayName(err.message)}\n`)
  }

  /** A line on stdout (for -v), unless --json. */
  protected say(line: string): void {
    if (!this.jsonEnabled()) process.stdout.write(`${displayName(line)}\n`)
  }

  /** Commit and close the images; exit status 1 if any operand failed. */
  protected finishEdit(): EditResult {
    this.images.closeAll()
    if (this.failed) process.exitCode = EXIT.FAILED
    return {results: this.results}
  }

  protected override async catch(err: Error & {exitCode?: number}): Promise<never> {
    try {
      this.images.closeAll()
    } catch {
      // the first error is the one to report
    }
    return super.catch(err)
  }
}

/** The parent inode of `ino` (a directory), or ino for the root. */
export function parentOf(img: Image, ino: number): number {
  return img.stat(ino).parent
}

/** Whether `ino` is `ancestor` or inside it (directories). */
export function inside(img: Image, ino: number, ancestor: number): boolean {
  for (let p = ino, hops = 0; hops < 100000; hops++) {
    if (p === ancestor) return true
    const up = img.stat(p).parent
    if (up === p) return false
    p = up
  }
  return false
}

/** The user's own uid and gid: owners of what the editing commands create, as coreutils on the host. */
export function creator(): {uid: number; gid: number} {
  return {uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0}
}

/**
 * uid, gid and mode of a new entry of `mode` (type bits included) in the directory `dir`: the user's own,
 * except that a set-group-ID directory passes on its group (and its bit, to directories): the core's rule,
 * the one a mount follows too.
 */
export function newEntry(img: Image, dir: number, mode: number): NewEntryAttrs {
  return newEntryAttrs(img.stat(dir), creator(), mode)
}

let umaskMemo: number | undefined
export function umask(): number {
  if (umaskMemo === undefined) {
    umaskMemo = process.umask(0o022)
    process.umask(umaskMemo)
  }
  return umaskMemo
}
