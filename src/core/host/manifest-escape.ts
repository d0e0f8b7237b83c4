/**
 * Bytes as manifest text (docs/MANIFEST.md): printable ASCII other than '\'
 * stands for itself, so do printable UTF-8 characters; every other byte is
 * written \xHH, and '\' as \\. Paths, link targets and xattr values are
 * bytes (names in an image need not be UTF-8), so this is how they are written.
 */
import {fail} from '../errors.js'

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u

/** Bytes as manifest text: see the module comment. `extra` are ASCII characters also escaped. */
export function escapeBytes(b: Buffer, extra = ''): string {
  let out = ''
  for (let i = 0; i < b.length;) {
    const c = b[i]!
    if (c < 0x80) {
      const ch = String.fromCharCode(c)
      if (c > 0x20 && c < 0x7f && ch !== '\\' && !extra.includes(ch)) out += ch
      else if (ch === '\\') out += '\\\\'
      else out += `\\x${c.toString(16).padStart(2, '0')}`
      i++
      continue
    }
    const n = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0
    if (n && i + n <= b.length) {
      const seq = b.subarray(i, i + n)
      const ch = seq.toString('utf8')
      if ([...ch].length === 1 && Buffer.from(ch, 'utf8').equals(seq) && PRINTABLE.test(ch)) {
        out += ch
        i += n
        continue
      }
    }
    out += `\\x${c.toString(16).padStart(2, '0')}`
    i++
  }
  return out
}

/** The inverse of escapeBytes; throws EINVAL on a bad escape or a raw space. */
export function unescapeBytes(s: string): Buffer {
  const parts: Buffer[] = []
  let lit = ''
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!
    if (ch !== '\\') {
      if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r')
        throw fail('EINVAL', `unescaped whitespace in '${s}'`)
      lit += ch
      continue
    }
    const next = s[i + 1]
    if (next === '\\') {
      lit += '\\'
      i++
    } else if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
      if (lit) {
        parts.push(Buffer.from(lit, 'utf8'))
        lit = ''
      }
      parts.push(Buffer.from([parseInt(s.slice(i + 2, i + 4), 16)]))
      i += 3
    } else throw fail('EINVAL', `bad escape '\\${next ?? ''}' in '${s}' (use \\\\ or \\xHH)`)
  }
  if (lit) parts.push(Buffer.from(lit, 'utf8'))
  return Buffer.concat(parts)
}
