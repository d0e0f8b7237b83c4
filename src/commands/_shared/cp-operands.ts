/**
 * cp operands, scp style: IMAGE:PATH names a path inside an image
 * (IMAGE: alone is its root), anything else is a host path, and '-' as a
 * source is standard input.
 *
 * Rule: an operand that exists on the host as it is written is a host path
 * (write ./a:b for a host file whose name has a colon, as with scp).
 * Otherwise it is split at the first ':' whose prefix is an existing regular
 * file, which is the image; PATH may contain further colons. Anything else
 * is a host path that does not exist yet.
 */
import fs from 'node:fs'
import {normalizeImagePath} from './operand.js'

export const CP_OPERAND_RULE =
  "An operand of the form IMAGE:PATH is a path inside the image file IMAGE (IMAGE: alone is its root directory); any other operand is a host path, and '-' as SOURCE is standard input. " +
  "An operand that exists on the host as written is always a host path: write ./NAME for a host file whose name contains ':'. " +
  "Otherwise it is split at the first ':' whose prefix is an existing file, so PATH may itself contain ':'."

export type CpOperand =
  | {kind: 'host'; text: string; path: string}
  | {kind: 'image'; text: string; image: string; path: string; raw: string; trailingSlash: boolean}
  | {kind: 'stdin'; text: string}

function existsOnHost(p: string): boolean {
  try {
    fs.lstatSync(p)
    return true
  } catch {
    return false
  }
}

function isRegularFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile()
  } catch {
    return false
  }
}

export function classifyOperand(text: string): CpOperand {
  if (text === '-') return {kind: 'stdin', text}
  if (!existsOnHost(text)) {
    for (let i = text.indexOf(':'); i > 0; i = text.indexOf(':', i + 1)) {
      const image = text.slice(0, i)
      if (isRegularFile(image)) {
        const rest = text.slice(i + 1)
        return {
          kind: 'image',
          text,
          image,
          path: normalizeImagePath(rest),
          raw: rest,
          trailingSlash: rest.endsWith('/') && rest.replace(/\/+$/, '') !== '',
        }
      }
    }
  }
  return {kind: 'host', text, path: text}
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

/** The last component of a path ('' for a root or a path ending in '.' or '..'). */
export function baseName(p: string): string {
  const parts = p.split('/').filter((x) => x !== '')
  const last = parts[parts.length - 1] ?? ''
  return last === '.' || last === '..' ? '' : last
}
