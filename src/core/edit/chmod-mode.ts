/**
 * chmod(1) modes, octal and symbolic, with GNU coreutils' rules
 * (modechange.c): '[ugoa]*([-+=]([rwxXst]*|[ugo]|[0-7]+))+' separated by
 * commas, or an octal number. Without [ugoa] the umask applies; a
 * directory keeps its set-user-ID and set-group-ID bits under a numeric
 * mode of up to four digits unless the mode names them.
 */

const S_ISUID = 0o4000
const S_ISGID = 0o2000
const S_ISVTX = 0o1000
const S_IRWXU = 0o700
const S_IRWXG = 0o070
const S_IRWXO = 0o007
const S_IRWXUGO = 0o777
const CHMOD_MODE_BITS = 0o7777
const READ = 0o444
const WRITE = 0o222
const EXEC = 0o111

type Flag = 'ordinary' | 'copy' | 'x-if-any-x'

interface Change {
  op: '=' | '+' | '-'
  flag: Flag
  affected: number
  value: number
  mentioned: number
}

export type ModeChanges = Change[]

/** Compile a mode; undefined when it is not one ("invalid mode"). */
export function parseMode(text: string): ModeChanges | undefined {
  if (/^[0-7]+$/.test(text)) {
    const n = parseInt(text, 8)
    if (n > CHMOD_MODE_BITS) return undefined
    const mentioned = text.length < 5 ? (n & (S_ISUID | S_ISGID)) | S_ISVTX | S_IRWXUGO : CHMOD_MODE_BITS
    return [{op: '=', flag: 'ordinary', affected: CHMOD_MODE_BITS, value: n, mentioned}]
  }
  const out: Change[] = []
  let p = 0
  const s = text
  for (;;) {
    let affected = 0
    for (; p < s.length && 'ugoa'.includes(s[p]!); p++) {
      const c = s[p]
      affected |=
        c === 'u' ? S_ISUID | S_IRWXU : c === 'g' ? S_ISGID | S_IRWXG : c === 'o' ? S_ISVTX | S_IRWXO : CHMOD_MODE_BITS
    }
    if (p >= s.length || !'=+-'.includes(s[p]!)) return undefined
    while (p < s.length && '=+-'.includes(s[p]!)) {
      const op = s[p++] as Change['op']
      let value = 0
      let mentioned = 0
      let flag: Flag = 'copy'
      let aff = affected
      const c = s[p]
      if (c !== undefined && c >= '0' && c <= '7') {
        let n = 0
        while (p < s.length && s[p]! >= '0' && s[p]! <= '7') {
          n = n * 8 + (s.charCodeAt(p) - 48)
          if (n > CHMOD_MODE_BITS) return undefined
          p++
        }
        if (affected || (p < s.length && s[p] !== ',')) return undefined
        aff = mentioned = CHMOD_MODE_BITS
        value = n
        flag = 'ordinary'
      } else if (c === 'u' || c === 'g' || c === 'o') {
        value = c === 'u' ? S_IRWXU : c === 'g' ? S_IRWXG : S_IRWXO
        p++
      } else {
        flag = 'ordinary'
        for (; p < s.length; p++) {
          const ch = s[p]
          if (ch === 'r') value |= READ
          else if (ch === 'w') value |= WRITE
          else if (ch === 'x') value |= EXEC
          else if (ch === 'X') flag = 'x-if-any-x'
          else if (ch === 's') value |= S_ISUID | S_ISGID
          else if (ch === 't') value |= S_ISVTX
          else break
        }
      }
      out.push({op, flag, affected: aff, value, mentioned: mentioned || (aff ? aff & value : value)})
    }
    if (p >= s.length) return out
    if (s[p] !== ',') return undefined
    p++
  }
}

/** Apply compiled changes to a mode (permission bits); `bits` are the bits the changes touched (mode_adjust's pmode_bits). */
export function applyMode(
  oldMode: number,
  dir: boolean,
  umaskValue: number,
  changes: ModeChanges,
): {mode: number; bits: number} {
  let newmode = oldMode & CHMOD_MODE_BITS
  let bits = 0
  for (const c of changes) {
    const omit = (dir ? S_ISUID | S_ISGID : 0) & ~c.mentioned
    let value = c.value
    if (c.flag === 'copy') {
      value &= newmode
      value |= (value & READ ? READ : 0) | (value & WRITE ? WRITE : 0) | (value & EXEC ? EXEC : 0)
    } else if (c.flag === 'x-if-any-x') {
      if (newmode & EXEC || dir) value |= EXEC
    }
    value &= (c.affected ? c.affected : ~umaskValue) & ~omit
    if (c.op === '=') {
      const preserved = (c.affected ? ~c.affected : 0) | omit
      bits |= CHMOD_MODE_BITS & ~preserved
      newmode = (newmode & preserved) | value
    } else if (c.op === '+') {
      bits |= value
      newmode |= value
    } else {
      bits |= value
      newmode &= ~value
    }
  }
  return {mode: newmode & CHMOD_MODE_BITS, bits}
}

/** '0755 (rwxr-xr-x)', as chmod -v shows a mode. */
export function modeDescription(mode: number): string {
  const rwx = (b: number, special: boolean, on: string, off: string) =>
    (b & 4 ? 'r' : '-') + (b & 2 ? 'w' : '-') + (special ? (b & 1 ? on : off) : b & 1 ? 'x' : '-')
  const str =
    rwx((mode >> 6) & 7, (mode & S_ISUID) !== 0, 's', 'S') +
    rwx((mode >> 3) & 7, (mode & S_ISGID) !== 0, 's', 'S') +
    rwx(mode & 7, (mode & S_ISVTX) !== 0, 't', 'T')
  return `${(mode & CHMOD_MODE_BITS).toString(8).padStart(4, '0')} (${str})`
}

/** The 9-character rwx string alone (chmod's "new permissions are ..." warning). */
export function permString(mode: number): string {
  return modeDescription(mode).slice(6, 15)
}
