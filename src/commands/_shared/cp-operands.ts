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
import type {CpOperand} from '../../core/index.js'
import {normalizeImagePath} from './operand.js'

export const CP_OPERAND_RULE =
  "An operand of the form IMAGE:PATH is a path inside the image file IMAGE (IMAGE: alone is its root directory); any other operand is a host path, and '-' as SOURCE is standard input. " +
  "An operand that exists on the host as written is always a host path: write ./NAME for a host file whose name contains ':'. " +
  "Otherwise it is split at the first ':' whose prefix is an existing file, so PATH may itself contain ':'."

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
