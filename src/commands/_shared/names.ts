/**
 * File names are raw bytes. Valid UTF-8 without control characters is shown
 * as is; anything else is escaped like `ls -b`: C escapes (\n, \t, ...),
 * '\\' for a backslash, and '\ooo' (octal) for other control characters and
 * for every byte that is not part of valid UTF-8 (e.g. 0xFF becomes '\377').
 */

const C_ESCAPES: Record<number, string> = {7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r'}

const strict = new TextDecoder('utf-8', {fatal: true})

export function isValidUtf8(buf: Uint8Array): boolean {
  try {
    strict.decode(buf)
    return true
  } catch {
    return false
  }
}

/** Length of the valid UTF-8 sequence starting at i, or 0 if the byte there does not start one. */
function sequenceLength(buf: Uint8Array, i: number): number {
  const b = buf[i]
  if (b < 0x80) return 1
  let len: number
  let min: number
  if (b >= 0xc2 && b <= 0xdf) [len, min] = [2, 0x80]
  else if (b >= 0xe0 && b <= 0xef) [len, min] = [3, 0x800]
  else if (b >= 0xf0 && b <= 0xf4) [len, min] = [4, 0x10000]
  else return 0
  if (i + len > buf.length) return 0
  let cp = b & (0xff >> (len + 1))
  for (let k = 1; k < len; k++) {
    const c = buf[i + k]
    if ((c & 0xc0) !== 0x80) return 0
    cp = (cp << 6) | (c & 0x3f)
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0
  return len
}

function toBuffer(name: Uint8Array | string): Buffer {
  return Buffer.isBuffer(name) ? name : Buffer.from(name)
}

function octal(byte: number): string {
  return '\\' + byte.toString(8).padStart(3, '0')
}

function isControl(cp: number): boolean {
  return cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp <= 0x9f)
}

/** A name for display on a terminal: escaped as described above only when needed. */
export function displayName(name: Uint8Array | string): string {
  const buf = toBuffer(name)
  let needsEscape = false
  for (let i = 0; i < buf.length;) {
    const len = sequenceLength(buf, i)
    if (len === 0 || (len === 1 && (isControl(buf[i]) || buf[i] === 0x5c))) {
      needsEscape = true
      break
    }
    if (len === 2 && isControl(((buf[i] & 0x1f) << 6) | (buf[i + 1] & 0x3f))) {
      needsEscape = true
      break
    }
    i += len
  }
  if (!needsEscape) return buf.toString('utf8')
  let out = ''
  for (let i = 0; i < buf.length;) {
    const len = sequenceLength(buf, i)
    if (len === 0) {
      out += octal(buf[i])
      i += 1
      continue
    }
    const text = buf.subarray(i, i + len).toString('utf8')
    const cp = text.codePointAt(0) ?? 0
    if (cp === 0x5c) out += '\\\\'
    else if (isControl(cp)) out += C_ESCAPES[cp] ?? [...buf.subarray(i, i + len)].map(octal).join('')
    else out += text
    i += len
  }
  return out
}

/** JSON form of a name: `name` always (escaped if not valid UTF-8), plus `nameBase64` when it is not valid UTF-8. */
export function jsonName(name: Uint8Array, key = 'name'): Record<string, string> {
  const buf = toBuffer(name)
  if (isValidUtf8(buf)) return {[key]: buf.toString('utf8')}
  return {[key]: displayName(buf), [`${key}Base64`]: buf.toString('base64')}
}

/** Compare names by their bytes, as `ls` in the C locale does. */
export function compareNames(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b)
}
