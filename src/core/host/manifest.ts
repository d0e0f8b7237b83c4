/**
 * The razorfs manifest: one line per filesystem entry, written by
 * `razorfs dump --manifest`, read by `razorfs mkfs --spec`, compared by
 * `razorfs diff`. Grammar and JSON Schema: docs/MANIFEST.md and
 * docs/manifest.schema.json.
 *
 *   /usr/bin/ping file mode=4755 uid=0 gid=0 mtime=1700000000.000000000 size=72776 sha256=9f… xattr.security.capability=\x01\x00…
 *
 * Paths, link targets and xattr values are bytes: printable ASCII other
 * than '\' stands for itself, so do printable UTF-8 characters; every other
 * byte is written \xHH, and '\' as \\.
 */
import {fail} from '../errors.js'
import {joinParts, pathParts} from './byte-path.js'
import type {FileType, Timespec} from '../types.js'
import {escapeBytes, unescapeBytes} from './manifest-escape.js'
import {nsFromTimespec, parseSecondsText} from '../time.js'

export {escapeBytes, unescapeBytes}

export const MANIFEST_VERSION = 1
export const MANIFEST_HEADER = `#razorfs-manifest ${MANIFEST_VERSION}`

export type ManifestType = FileType | 'hardlink'
export const MANIFEST_TYPES: readonly ManifestType[] = [
  'dir',
  'file',
  'symlink',
  'hardlink',
  'chardev',
  'blockdev',
  'fifo',
  'socket',
]
const TYPE_WORDS: Record<string, ManifestType> = {
  dir: 'dir',
  file: 'file',
  symlink: 'symlink',
  hardlink: 'hardlink',
  char: 'chardev',
  block: 'blockdev',
  fifo: 'fifo',
  socket: 'socket',
}
const WORD_OF: Record<ManifestType, string> = {
  dir: 'dir',
  file: 'file',
  symlink: 'symlink',
  hardlink: 'hardlink',
  chardev: 'char',
  blockdev: 'block',
  fifo: 'fifo',
  socket: 'socket',
}

export interface ManifestXattr {
  name: string
  value: Buffer
}

export interface ManifestEntry {
  /** Absolute path in the image: '/' for the root, no trailing '/'. */
  path: Buffer
  type: ManifestType
  /** Permission bits (07777). */
  mode?: number
  uid?: number
  gid?: number
  mtime?: Timespec
  atime?: Timespec
  ctime?: Timespec
  crtime?: Timespec
  /** Regular files: content length. */
  size?: number
  /** Regular files: SHA-256 of the content, lower-case hex. */
  sha256?: string
  /** Symlinks: the target. Hard links: the path of the entry they are another name of. */
  target?: Buffer
  /** Devices. */
  dev?: {major: number; minor: number}
  /** Inode flags by name ('nocompress'). */
  flags?: string[]
  xattrs?: ManifestXattr[]
  /** --spec only: a host file (relative to the manifest's directory) with the content. */
  src?: string
  /** Where the entry was read (1-based line, or JSON index + 1). */
  line?: number
}

// ---------------------------------------------------------------------------
// values

export function formatTime(t: Timespec): string {
  const ns = nsFromTimespec(t)
  const neg = ns < 0n
  const a = neg ? -ns : ns
  return `${neg ? '-' : ''}${a / 1_000_000_000n}.${(a % 1_000_000_000n).toString().padStart(9, '0')}`
}

export function parseTime(s: string): Timespec {
  const out = parseSecondsText(s, 9)
  if (!out) throw fail('EINVAL', `'${s}' is not a time (SECONDS or SECONDS.NANOSECONDS since 1970)`)
  if (!Number.isSafeInteger(out.sec)) throw fail('EINVAL', `time '${s}' is out of range`)
  return out
}

function parseUint(s: string, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(s) || Number(s) > max) throw fail('EINVAL', `${what} '${s}' is not a number from 0 to ${max}`)
  return Number(s)
}

export const FLAG_NAMES: Record<string, number> = {nocompress: 1}

// ---------------------------------------------------------------------------
// lines

export function formatPath(p: Buffer): string {
  return escapeBytes(p)
}

/** One manifest line (no newline). */
export function formatEntry(e: ManifestEntry): string {
  const f: string[] = [formatPath(e.path), WORD_OF[e.type]]
  if (e.type === 'hardlink') {
    f.push(`target=${escapeBytes(e.target!)}`)
    return f.join(' ')
  }
  if (e.mode !== undefined) f.push(`mode=${e.mode.toString(8).padStart(4, '0')}`)
  if (e.uid !== undefined) f.push(`uid=${e.uid}`)
  if (e.gid !== undefined) f.push(`gid=${e.gid}`)
  if (e.mtime) f.push(`mtime=${formatTime(e.mtime)}`)
  for (const k of ['atime', 'ctime', 'crtime'] as const) if (e[k]) f.push(`${k}=${formatTime(e[k]!)}`)
  if (e.size !== undefined) f.push(`size=${e.size}`)
  if (e.sha256) f.push(`sha256=${e.sha256}`)
  if (e.target) f.push(`target=${escapeBytes(e.target)}`)
  if (e.dev) f.push(`dev=${e.dev.major},${e.dev.minor}`)
  if (e.flags?.length) f.push(`flags=${e.flags.join(',')}`)
  if (e.src !== undefined) f.push(`src=${escapeBytes(Buffer.from(e.src, 'utf8'))}`)
  for (const x of e.xattrs ?? [])
    f.push(`xattr.${escapeBytes(Buffer.from(x.name, 'utf8'), '=')}=${escapeBytes(x.value)}`)
  return f.join(' ')
}

/** A whole manifest as text, with the header line. */
export function formatManifest(entries: Iterable<ManifestEntry>): string {
  const lines = [MANIFEST_HEADER]
  for (const e of entries) lines.push(formatEntry(e))
  return lines.join('\n') + '\n'
}

/** Normalise an absolute path: one leading '/', no empty, '.' or trailing components; '..' is refused. */
export function normalizeAbsPath(p: Buffer, where = 'path'): Buffer {
  if (p[0] !== 0x2f) throw fail('EINVAL', `${where} '${escapeBytes(p)}' must start with '/'`)
  const parts = pathParts(p)
  if (!parts) throw fail('EINVAL', `${where} '${escapeBytes(p)}' contains '..'`)
  for (const part of parts) {
    if (part.includes(0)) throw fail('EINVAL', `${where} contains a NUL byte`)
    if (part.length > 255)
      throw fail('ENAMETOOLONG', `${where} '${escapeBytes(p)}': a component is longer than 255 bytes`)
  }
  return Buffer.concat([Buffer.from('/'), joinParts(parts)])
}

function checkEntry(e: ManifestEntry): void {
  const bad = (why: string) => fail('EINVAL', `${escapeBytes(e.path)}: ${why}`)
  const has = (k: keyof ManifestEntry) => e[k] !== undefined
  if (e.type === 'hardlink') {
    for (const k of [
      'mode',
      'uid',
      'gid',
      'mtime',
      'atime',
      'ctime',
      'crtime',
      'size',
      'sha256',
      'dev',
      'flags',
      'xattrs',
      'src',
    ] as const)
      if (has(k)) throw bad(`a hardlink has its target's attributes; '${k}' is not allowed`)
    if (!e.target) throw bad('a hardlink needs target=PATH')
    e.target = normalizeAbsPath(e.target, 'hardlink target')
    if (e.path.length === 1) throw bad('the root cannot be a hardlink')
    return
  }
  if (e.type === 'symlink' && (!e.target || e.target.length === 0)) throw bad('a symlink needs target=TARGET')
  if (e.type !== 'symlink' && has('target')) throw bad(`target= is for symlinks and hardlinks, not ${WORD_OF[e.type]}`)
  if ((e.type === 'chardev' || e.type === 'blockdev') !== has('dev'))
    throw bad(has('dev') ? 'dev= is for char and block devices' : 'a device needs dev=MAJOR,MINOR')
  if (e.type !== 'file')
    for (const k of ['size', 'sha256', 'src'] as const) if (has(k)) throw bad(`${k}= is for regular files`)
  if (e.path.length === 1 && e.type !== 'dir') throw bad('the root is a directory')
  if (e.mode !== undefined && (e.mode < 0 || e.mode > 0o7777)) throw bad('mode is 4 octal digits at most')
}

/** Parse manifest text (line form, or JSON when it starts with '{'). `name` is used in errors. */
export function parseManifest(text: string, name = 'manifest'): ManifestEntry[] {
  if (/^\s*\{/.test(text)) {
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (e) {
      throw fail('EINVAL', `${name}: not valid JSON (${(e as Error).message})`)
    }
    return manifestFromJson(json, name)
  }
  const out: ManifestEntry[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '')
    if (/^\s*(#.*)?$/.test(line)) continue
    try {
      out.push(parseLine(line, i + 1))
    } catch (e) {
      throw fail('EINVAL', `${name}:${i + 1}: ${(e as Error).message}`)
    }
  }
  return out
}

function parseLine(line: string, lineNo: number): ManifestEntry {
  const tokens = line.trim().split(/[ \t]+/)
  if (tokens.length < 2) throw fail('EINVAL', 'expected PATH TYPE [KEY=VALUE ...]')
  const type = TYPE_WORDS[tokens[1]!]
  if (!type) throw fail('EINVAL', `unknown type '${tokens[1]}' (one of ${Object.keys(TYPE_WORDS).join(', ')})`)
  const e: ManifestEntry = {path: normalizeAbsPath(unescapeBytes(tokens[0]!)), type, line: lineNo}
  const seen = new Set<string>()
  for (const tok of tokens.slice(2)) {
    const eq = tok.indexOf('=')
    if (eq <= 0) throw fail('EINVAL', `'${tok}' is not KEY=VALUE`)
    const key = tok.slice(0, eq)
    const val = tok.slice(eq + 1)
    if (seen.has(key)) throw fail('EINVAL', `'${key}' given twice`)
    seen.add(key)
    setField(e, key, val, (s) => unescapeBytes(s))
  }
  checkEntry(e)
  return e
}

/** Set one KEY=VALUE (both forms share it; `bytes` decodes escaped text). */
function setField(e: ManifestEntry, key: string, val: string, bytes: (s: string) => Buffer): void {
  switch (key) {
    case 'mode':
      if (!/^[0-7]{1,4}$/.test(val)) throw fail('EINVAL', `mode '${val}' is not 1 to 4 octal digits`)
      e.mode = parseInt(val, 8)
      return
    case 'uid':
    case 'gid':
      e[key] = parseUint(val, key, 0xffffffff)
      return
    case 'mtime':
    case 'atime':
    case 'ctime':
    case 'crtime':
      e[key] = parseTime(val)
      return
    case 'size':
      e.size = parseUint(val, 'size')
      return
    case 'sha256':
      if (!/^[0-9a-f]{64}$/.test(val)) throw fail('EINVAL', `sha256 '${val}' is not 64 lower-case hex digits`)
      e.sha256 = val
      return
    case 'target':
      e.target = bytes(val)
      return
    case 'dev': {
      const m = /^(\d+),(\d+)$/.exec(val)
      if (!m) throw fail('EINVAL', `dev '${val}' is not MAJOR,MINOR`)
      e.dev = {major: parseUint(m[1]!, 'major', 0xffffffff), minor: parseUint(m[2]!, 'minor', 0xffffffff)}
      return
    }
    case 'flags':
      e.flags = val.split(',').filter(Boolean)
      for (const f of e.flags)
        if (!(f in FLAG_NAMES))
          throw fail('EINVAL', `unknown flag '${f}' (known: ${Object.keys(FLAG_NAMES).join(', ')})`)
      return
    case 'src':
      e.src = bytes(val).toString('utf8')
      return
  }
  if (key.startsWith('xattr.')) {
    const name = bytes(key.slice(6)).toString('utf8')
    if (!/^(user|trusted|security|system)\.[^\0]/.test(name))
      throw fail('EINVAL', `xattr '${name}': the name needs a namespace (user., trusted., security. or system.)`)
    ;(e.xattrs ??= []).push({name, value: bytes(val)})
    return
  }
  throw fail('EINVAL', `unknown key '${key}'`)
}

// ---------------------------------------------------------------------------
// JSON form

export interface JsonManifestEntry {
  path: string
  type: string
  mode?: string
  uid?: number
  gid?: number
  mtime?: string
  atime?: string
  ctime?: string
  crtime?: string
  size?: number
  sha256?: string
  target?: string
  dev?: {major: number; minor: number}
  flags?: string[]
  xattrs?: Record<string, string>
  src?: string
}

export interface JsonManifest {
  razorfsManifest: number
  entries: JsonManifestEntry[]
}

export function manifestToJson(entries: Iterable<ManifestEntry>): JsonManifest {
  const out: JsonManifestEntry[] = []
  for (const e of entries) {
    const j: JsonManifestEntry = {path: formatPath(e.path), type: WORD_OF[e.type]}
    if (e.mode !== undefined) j.mode = e.mode.toString(8).padStart(4, '0')
    if (e.uid !== undefined) j.uid = e.uid
    if (e.gid !== undefined) j.gid = e.gid
    for (const k of ['mtime', 'atime', 'ctime', 'crtime'] as const) if (e[k]) j[k] = formatTime(e[k]!)
    if (e.size !== undefined) j.size = e.size
    if (e.sha256) j.sha256 = e.sha256
    if (e.target) j.target = escapeBytes(e.target)
    if (e.dev) j.dev = {...e.dev}
    if (e.flags?.length) j.flags = [...e.flags]
    if (e.xattrs?.length) j.xattrs = Object.fromEntries(e.xattrs.map((x) => [x.name, escapeBytes(x.value)]))
    if (e.src !== undefined) j.src = e.src
    out.push(j)
  }
  return {razorfsManifest: MANIFEST_VERSION, entries: out}
}

/**
 * Entries of a JSON manifest: the manifest object itself, or the JSON envelope `razorfs dump --manifest --json`
 * prints around it (`{status: 'ok', result: {...}}`, docs/json-envelope.schema.json).
 */
export function manifestFromJson(json: unknown, name = 'manifest'): ManifestEntry[] {
  const wrapped = json as {status?: unknown; result?: unknown} | null
  if (wrapped && typeof wrapped === 'object' && wrapped.status === 'ok' && 'result' in wrapped) json = wrapped.result
  const doc = json as Partial<JsonManifest>
  if (!doc || typeof doc !== 'object' || !Array.isArray(doc.entries))
    throw fail('EINVAL', `${name}: a JSON manifest is an object with an "entries" array`)
  if (doc.razorfsManifest !== undefined && doc.razorfsManifest !== MANIFEST_VERSION)
    throw fail(
      'EINVAL',
      `${name}: manifest version ${doc.razorfsManifest} is not supported (this is version ${MANIFEST_VERSION})`,
    )
  return doc.entries.map((j, i) => {
    try {
      if (!j || typeof j !== 'object' || typeof j.path !== 'string' || typeof j.type !== 'string')
        throw fail('EINVAL', 'an entry needs "path" and "type" strings')
      const type = TYPE_WORDS[j.type]
      if (!type) throw fail('EINVAL', `unknown type '${j.type}'`)
      const e: ManifestEntry = {path: normalizeAbsPath(unescapeBytes(j.path)), type, line: i + 1}
      for (const [k, v] of Object.entries(j)) {
        if (k === 'path' || k === 'type' || v === undefined) continue
        if (k === 'xattrs') {
          if (!v || typeof v !== 'object') throw fail('EINVAL', '"xattrs" is an object of name: value')
          for (const [xn, xv] of Object.entries(v as Record<string, unknown>)) {
            if (typeof xv !== 'string') throw fail('EINVAL', `xattr ${xn}: the value is an escaped string`)
            setField(e, `xattr.${escapeBytes(Buffer.from(xn, 'utf8'), '=')}`, xv, unescapeBytes)
          }
        } else if (k === 'dev') {
          const d = v as {major?: unknown; minor?: unknown}
          setField(e, 'dev', `${d?.major},${d?.minor}`, unescapeBytes)
        } else if (k === 'src') {
          if (typeof v !== 'string') throw fail('EINVAL', '"src" is a host path string')
          e.src = v
        } else if (k === 'flags') {
          if (!Array.isArray(v)) throw fail('EINVAL', '"flags" is an array of names')
          setField(e, 'flags', v.join(','), unescapeBytes)
        } else setField(e, k, String(v), unescapeBytes)
      }
      checkEntry(e)
      return e
    } catch (err) {
      throw fail('EINVAL', `${name}: entry ${i + 1}: ${(err as Error).message}`)
    }
  })
}
