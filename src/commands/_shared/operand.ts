/**
 * IMAGE[:PATH] operands.
 *
 * Rule: if the whole operand names an existing host file (anything but a
 * directory), it is the image and PATH is '/'. Otherwise the operand is split
 * at the first ':' whose prefix names an existing host file (so PATH may
 * itself contain ':'). If no prefix exists, it is split at the first ':' (or
 * not at all), and opening the image then reports the missing file.
 * PATH is relative to the image's root directory; an empty PATH means '/'.
 */
import {statSync} from 'node:fs'

export const OPERAND_RULE =
  "IMAGE[:PATH] names a file inside an image. If the whole operand is an existing file it is the image and PATH is '/'. " +
  "Otherwise it is split at the first ':' whose prefix is an existing file, so PATH may contain ':'. " +
  "PATH is taken from the image's root directory; an empty PATH means '/'."

export interface Operand {
  /** Host path of the image file. */
  image: string
  /** Absolute path inside the image, always starting with '/'. */
  path: string
  /** Whether the operand had an explicit ':PATH' part. */
  explicitPath: boolean
  /** PATH as written (after the ':'; '' without one): trailing slashes and '.' components matter to the editing commands. */
  raw: string
}

function isHostFile(path: string): boolean {
  try {
    return !statSync(path).isDirectory()
  } catch {
    return false
  }
}

export function normalizeImagePath(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.')
  return '/' + parts.join('/')
}

export function parseOperand(text: string, exists: (path: string) => boolean = isHostFile): Operand {
  if (exists(text) || !text.includes(':')) return {image: text, path: '/', explicitPath: false, raw: ''}
  let split = -1
  for (let i = text.indexOf(':'); i !== -1; i = text.indexOf(':', i + 1)) {
    if (i > 0 && exists(text.slice(0, i))) {
      split = i
      break
    }
  }
  if (split === -1) split = text.indexOf(':')
  return {
    image: text.slice(0, split),
    path: normalizeImagePath(text.slice(split + 1)),
    explicitPath: true,
    raw: text.slice(split + 1),
  }
}
