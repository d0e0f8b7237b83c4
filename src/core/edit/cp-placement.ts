/**
 * cp(1)'s placement rules: given the operands of a copy (sources, then the
 * destination), where each source goes. A destination that is an existing
 * directory (in an image or on the host) receives each source under its own
 * name ('DIR/.' merges DIR's contents into it); otherwise there must be one
 * source, and the destination is the name of the copy, in a parent directory
 * that must exist. The command parses the operands and renders the results;
 * the copies themselves are copyIn, copyImage, extract and copyStreamIn.
 */
import fs from 'node:fs'
import path from 'node:path'
import {isRazorError} from '../errors.js'
import type {Image} from '../image/image.js'
import type {CopyProblem} from '../host/copy.js'

/** A cp operand, scp style: a host path, IMAGE:PATH, or '-' (standard input). */
export type CpOperand =
  | {kind: 'host'; text: string; path: string}
  | {kind: 'image'; text: string; image: string; path: string; raw: string; trailingSlash: boolean}
  | {kind: 'stdin'; text: string}

/** Where one source goes. */
export interface Placement {
  /** Image destination: the directory inode; host destination: the directory path. */
  dir: number | string
  name: string
  label: string
  /** Merge a directory source into `dir` itself. */
  into: boolean
  /** DEST was written with a trailing '/' and does not exist: only a directory can be copied there. */
  dirOnly?: boolean
}

/** The place of one source, or why it cannot be copied (the others still are). */
export type PlaceResult = {ok: true; placement: Placement} | {ok: false; problem: CopyProblem}

/** The whole copy cannot go ahead (a missing target directory, an image file about to be replaced, ...). */
export interface PlanFailure {
  code: string
  message: string
}

export type CpPlan = {ok: true; place: (src: CpOperand) => PlaceResult} | ({ok: false} & PlanFailure)

export interface CpPlanOptions {
  /** cp -f: an existing host file that is a RAZORFS image may be replaced. */
  force?: boolean
}

/** The last component of a path ('' for a root or a path ending in '.' or '..'). */
export function baseName(p: string): string {
  const parts = p.split('/').filter((x) => x !== '')
  const last = parts[parts.length - 1] ?? ''
  return last === '.' || last === '..' ? '' : last
}

/** Whether a host file starts with a RAZORFS superblock (to hint at a missing ':'). */
export function looksLikeImage(p: string): boolean {
  try {
    const fd = fs.openSync(p, 'r')
    try {
      const b = Buffer.alloc(56)
      fs.readSync(fd, b, 0, 56, 0)
      return b.subarray(48, 55).toString('latin1') === 'RAZORFS'
    } finally {
      fs.closeSync(fd)
    }
  } catch {
    return false
  }
}

function joinLabel(dir: string, name: string): string {
  return dir.endsWith('/') || dir.endsWith(':') ? dir + name : `${dir}/${name}`
}

const placed = (placement: Placement): PlaceResult => ({ok: true, placement})
const failed = (code: string, message: string): CpPlan => ({ok: false, code, message})

/**
 * Decide, like cp(1), whether DEST is a directory to copy into or the name
 * of the copy. `img` is the destination image, open, when DEST is IMAGE:PATH.
 */
export function planCopies(
  dest: Exclude<CpOperand, {kind: 'stdin'}>,
  img: Image | undefined,
  sources: CpOperand[],
  opts: CpPlanOptions = {},
): CpPlan {
  const many = sources.length > 1
  // 'DIR/.' copies DIR's contents (an empty base name merges into DEST), as cp(1)
  const nameOf = (src: CpOperand) =>
    src.kind === 'stdin' ? '' : baseName(src.kind === 'image' ? src.raw || '/' : src.path)
  if (dest.kind === 'image') {
    if (!img) throw new Error('planCopies: the destination image is not open')
    let ino: number | undefined
    try {
      ino = img.resolve(dest.path, {follow: true})
    } catch (e) {
      if (!isRazorError(e, 'ENOENT')) throw e
    }
    if (ino !== undefined && img.stat(ino).type === 'dir') {
      const dir = ino
      return {
        ok: true,
        place: (src) => {
          const name = nameOf(src)
          if (src.kind === 'stdin')
            return {
              ok: false,
              problem: {
                code: 'EISDIR',
                path: dest.text,
                message: `cannot copy standard input into the directory '${dest.text}': name the file, e.g. ${dest.text.replace(/\/?$/, '/')}NAME`,
              },
            }
          return placed({dir, name, label: name ? joinLabel(dest.text, name) : dest.text, into: name === ''})
        },
      }
    }
    if (many)
      return failed(
        'ENOTDIR',
        `target '${dest.text}': ${ino === undefined ? 'No such file or directory' : 'Not a directory'}`,
      )
    const parentPath = path.posix.dirname(dest.path)
    const name = path.posix.basename(dest.path)
    let parent: number
    try {
      parent = img.resolve(parentPath, {follow: true})
    } catch (e) {
      if (isRazorError(e) && (e.code === 'ENOENT' || e.code === 'ENOTDIR'))
        return failed(
          e.code,
          `cannot create '${dest.text}': ${e.code === 'ENOENT' ? 'No such file or directory' : 'Not a directory'}`,
        )
      throw e
    }
    if (img.stat(parent).type !== 'dir') return failed('ENOTDIR', `cannot create '${dest.text}': Not a directory`)
    const one = placed({dir: parent, name, label: dest.text, into: false, dirOnly: dest.trailingSlash})
    return {ok: true, place: () => one}
  }
  // a host destination
  let st: fs.Stats | undefined
  try {
    st = fs.statSync(dest.path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code !== 'ENOENT') throw e
  }
  if (st?.isDirectory())
    return {
      ok: true,
      place: (src) =>
        placed({
          dir: dest.path,
          name: nameOf(src),
          label: nameOf(src) ? joinLabel(dest.text, nameOf(src)) : dest.text,
          into: nameOf(src) === '',
        }),
    }
  if (many) return failed('ENOTDIR', `target '${dest.text}': ${st ? 'Not a directory' : 'No such file or directory'}`)
  const parent = path.dirname(dest.path)
  let pst: fs.Stats
  try {
    pst = fs.statSync(parent)
  } catch {
    return failed('ENOENT', `cannot create '${dest.text}': No such file or directory`)
  }
  if (!pst.isDirectory()) return failed('ENOTDIR', `cannot create '${dest.text}': Not a directory`)
  if (st && looksLikeImage(dest.path) && !opts.force)
    return failed(
      'EEXIST',
      `'${dest.text}' exists and is a RAZORFS image: to copy into it, write '${dest.text}:' or '${dest.text}:/PATH'; to replace the image file itself, use -f`,
    )
  const one = placed({
    dir: parent,
    name: path.basename(dest.path),
    label: dest.text,
    into: false,
    dirOnly: dest.path.endsWith('/'),
  })
  return {ok: true, place: () => one}
}
