/**
 * Reading tar streams through node-tar (the `tar` package): ustar, pax and
 * GNU headers, long names, hard links, symlinks, devices, fifos, and
 * compressed archives (gzip, and whatever else node-tar detects).
 *
 * node-tar decodes names and pax records as UTF-8 strings and times as
 * JavaScript Dates (milliseconds), and keeps no xattrs. A filesystem image
 * needs the exact bytes: names that are not UTF-8, nanosecond times, binary
 * xattr values (SCHILY.xattr.*, LIBARCHIVE.xattr.*, RHT.security.selinux).
 * So the parser below also captures each raw header block and the raw bytes
 * of pax and GNU long-name records as node-tar consumes them, and decodes
 * those itself; node-tar still does the framing, checksums, decompression
 * and the numeric fields. This uses two internal methods of node-tar's
 * Parser (found by their symbol names); if a future node-tar renames them,
 * the reader falls back to node-tar's decoded values and says so once.
 */
import type {Readable} from 'node:stream'
import {Parser, type ReadEntry} from 'tar'
import {fail} from '../errors.js'
import {joinParts, pathParts} from './byte-path.js'
import type {ManifestXattr} from './manifest.js'
import type {Timespec} from '../types.js'
import {parseSecondsText} from '../time.js'

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'chardev' | 'blockdev' | 'fifo'

export interface TarEntry {
  /** Path relative to the archive root, normalised: no leading '/' or './', '' for the root itself. */
  path: Buffer
  type: TarEntryType
  /** Permission bits. */
  mode: number
  uid: number
  gid: number
  mtime: Timespec
  atime?: Timespec
  ctime?: Timespec
  size: number
  /** Symlink target (as stored) or hard link target (normalised like path). */
  linkpath?: Buffer
  dev?: {major: number; minor: number}
  xattrs: ManifestXattr[]
}

export interface TarWarning {
  code: string
  path: string
  message: string
}

export interface TarHandlers {
  /** An entry; for a file, `data` delivers its content (synchronously, in order) and then `end`. */
  entry(e: TarEntry, body: {onData(fn: (chunk: Buffer) => void): void}): void
  /** After the last chunk of a file. */
  end?(e: TarEntry): void
  warning(w: TarWarning): void
}

const RAW = Symbol('razorfs-raw')
interface RawInfo {
  header: Buffer
  pax: Map<string, Buffer>
  longPath?: Buffer
  longLink?: Buffer
}
type WithRaw = ReadEntry & {[RAW]?: RawInfo; meta?: boolean}

const META_CODES = new Set(['x', 'g', 'X', 'L', 'K', 'N'])

function symbolOf(obj: object, name: string): symbol | undefined {
  for (let o: object | null = obj; o; o = Object.getPrototypeOf(o)) {
    const s = Object.getOwnPropertySymbols(o).find((x) => x.description === name)
    if (s) return s
  }
  return undefined
}

/** Parse pax extended header records ("LEN key=value\n") keeping values as bytes. */
export function parsePaxRecords(body: Buffer, into = new Map<string, Buffer>()): Map<string, Buffer> {
  let pos = 0
  while (pos < body.length) {
    const sp = body.indexOf(0x20, pos)
    if (sp < 0) break
    const len = Number(body.subarray(pos, sp).toString('latin1'))
    if (!Number.isInteger(len) || len <= sp - pos || pos + len > body.length) break
    const rec = body.subarray(sp + 1, pos + len - (body[pos + len - 1] === 0x0a ? 1 : 0))
    const eq = rec.indexOf(0x3d)
    if (eq > 0) {
      const key = rec.subarray(0, eq).toString('utf8')
      const value = rec.subarray(eq + 1)
      if (value.length === 0) into.delete(key)
      else into.set(key, Buffer.from(value))
    }
    pos += len
  }
  return into
}

function cstr(b: Buffer): Buffer {
  const z = b.indexOf(0)
  return z < 0 ? b : b.subarray(0, z)
}

/**
 * A node-tar Parser that also keeps the raw bytes (see the module comment).
 * Each non-meta entry gets [RAW]: its header block, the pax records that
 * apply to it (global, then its own) and GNU long names.
 */
class RawParser extends Parser {
  raw = true
  private global = new Map<string, Buffer>()
  private pending: {pax?: Map<string, Buffer>; longPath?: Buffer; longLink?: Buffer} = {}
  private metaBody: Buffer[] = []

  constructor(opts: ConstructorParameters<typeof Parser>[0]) {
    super(opts)
    const self = this as unknown as Record<symbol, unknown>
    const consumeHeader = symbolOf(this, 'consumeHeader')
    const consumeMeta = symbolOf(this, 'consumeMeta')
    const writeEntry = symbolOf(this, 'writeEntry')
    if (!consumeHeader || !consumeMeta || !writeEntry) {
      this.raw = false
      return
    }
    const origHeader = (self[consumeHeader] as (c: Buffer, p: number) => void).bind(this)
    const origMeta = (self[consumeMeta] as (c: Buffer, p: number) => number).bind(this)
    self[consumeHeader] = (chunk: Buffer, position: number) => {
      const block = chunk.subarray(position, position + 512)
      const code = String.fromCharCode(block[156] ?? 0x30)
      const isMeta = META_CODES.has(code)
      let info: RawInfo | undefined
      if (!isMeta && block.some((x) => x !== 0)) {
        const pax = new Map(this.global)
        for (const [k, v] of this.pending.pax ?? []) pax.set(k, v)
        info = {header: Buffer.from(block), pax, longPath: this.pending.longPath, longLink: this.pending.longLink}
        this.pending = {}
      }
      origHeader(chunk, position)
      const e = self[writeEntry] as WithRaw | undefined
      if (info && e && !e.meta && !e[RAW]) e[RAW] = info
      if (isMeta) this.metaBody = []
    }
    self[consumeMeta] = (chunk: Buffer, position: number) => {
      const e = self[writeEntry] as WithRaw
      const remain = e.remain
      const ret = origMeta(chunk, position)
      this.metaBody.push(Buffer.from(chunk.subarray(position, position + Math.min(ret, remain))))
      if (self[writeEntry] !== e) {
        const body = Buffer.concat(this.metaBody)
        this.metaBody = []
        switch (e.type) {
          case 'ExtendedHeader':
          case 'OldExtendedHeader':
            this.pending.pax = parsePaxRecords(body, this.pending.pax)
            break
          case 'GlobalExtendedHeader':
            parsePaxRecords(body, this.global)
            break
          case 'NextFileHasLongPath':
          case 'OldGnuLongPath':
            this.pending.longPath = cstr(body)
            break
          case 'NextFileHasLongLinkpath':
            this.pending.longLink = cstr(body)
            break
        }
      }
      return ret
    }
  }
}

/** Normalise an archive path: relative, no '.', empty or trailing components; undefined if it has '..'. */
export function normalizeTarPath(p: Buffer): Buffer | undefined {
  const parts = pathParts(p)
  return parts && joinParts(parts)
}

function paxTime(v: Buffer | undefined): Timespec | undefined {
  if (!v) return undefined
  return parseSecondsText(v.toString('latin1'))
}

function dateTime(d: Date | undefined): Timespec | undefined {
  if (!d || Number.isNaN(d.getTime())) return undefined
  const ms = d.getTime()
  const sec = Math.floor(ms / 1000)
  return {sec, nsec: Math.round((ms - sec * 1000) * 1e6)}
}

const TYPES: Record<string, TarEntryType> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'dir',
  GNUDumpDir: 'dir',
  SymbolicLink: 'symlink',
  Link: 'hardlink',
  CharacterDevice: 'chardev',
  BlockDevice: 'blockdev',
  FIFO: 'fifo',
}

function xattrsOf(pax: Map<string, Buffer>): ManifestXattr[] {
  const out = new Map<string, Buffer>()
  for (const [k, v] of pax) {
    if (k.startsWith('LIBARCHIVE.xattr.')) {
      let name: string
      try {
        name = decodeURIComponent(k.slice('LIBARCHIVE.xattr.'.length))
      } catch {
        continue
      }
      out.set(name, Buffer.from(v.toString('latin1'), 'base64'))
    }
  }
  for (const [k, v] of pax) if (k === 'RHT.security.selinux') out.set('security.selinux', v)
  for (const [k, v] of pax) if (k.startsWith('SCHILY.xattr.')) out.set(k.slice('SCHILY.xattr.'.length), v)
  return [...out].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([name, value]) => ({name, value}))
}

/** Decode an entry from node-tar's view plus the raw bytes. */
function decodeEntry(e: WithRaw, raw: RawInfo | undefined): {entry?: TarEntry; why?: string; shown: string} {
  const shown = e.path
  const type = TYPES[e.type]
  if (!type) return {why: `tar entry type ${e.type} is not supported`, shown}
  const pax = raw?.pax ?? new Map<string, Buffer>()
  let pathBytes: Buffer
  let linkBytes: Buffer | undefined
  if (raw) {
    const h = raw.header
    const ustar = h.subarray(257, 263).toString('latin1') === 'ustar\0'
    const name = cstr(h.subarray(0, 100))
    const prefix = ustar ? cstr(h.subarray(345, 500)) : Buffer.alloc(0)
    pathBytes =
      pax.get('path') ?? raw.longPath ?? (prefix.length ? Buffer.concat([prefix, Buffer.from('/'), name]) : name)
    linkBytes = pax.get('linkpath') ?? raw.longLink ?? cstr(h.subarray(157, 257))
  } else {
    pathBytes = Buffer.from(e.path, 'utf8')
    linkBytes = e.linkpath ? Buffer.from(e.linkpath, 'utf8') : undefined
  }
  const path = normalizeTarPath(pathBytes)
  if (path === undefined) return {why: `path '${pathBytes.toString('utf8')}' contains '..'; skipped`, shown}
  const header = e.header as unknown as {devmaj?: number; devmin?: number}
  const num = (k: string, fallback: number | undefined) => {
    const v = pax.get(k)
    const n = v ? Number(v.toString('latin1')) : NaN
    return Number.isSafeInteger(n) && n >= 0 ? n : (fallback ?? 0)
  }
  const mtime = paxTime(pax.get('mtime')) ?? dateTime(e.mtime) ?? {sec: 0, nsec: 0}
  const entry: TarEntry = {
    path,
    type,
    mode: (e.mode ?? (type === 'dir' ? 0o755 : 0o644)) & 0o7777,
    uid: num('uid', e.uid),
    gid: num('gid', e.gid),
    mtime,
    atime: paxTime(pax.get('atime')) ?? (raw ? undefined : dateTime(e.atime)),
    ctime: paxTime(pax.get('ctime')) ?? (raw ? undefined : dateTime(e.ctime)),
    size: type === 'file' ? (e.size ?? 0) : 0,
    xattrs: xattrsOf(pax),
  }
  if (type === 'symlink') {
    if (!linkBytes?.length) return {why: 'symlink without a target; skipped', shown}
    entry.linkpath = linkBytes
  }
  if (type === 'hardlink') {
    const target = linkBytes ? normalizeTarPath(linkBytes) : undefined
    if (!target?.length)
      return {why: `hard link to '${linkBytes?.toString('utf8') ?? ''}' cannot be resolved; skipped`, shown}
    entry.linkpath = target
  }
  if (type === 'chardev' || type === 'blockdev')
    entry.dev = {major: num('SCHILY.devmajor', header.devmaj), minor: num('SCHILY.devminor', header.devmin)}
  return {entry, shown}
}

/**
 * Read a tar stream, calling the handlers for each entry in archive order.
 * Resolves when the archive ends; rejects on a stream error, an unreadable
 * archive, or an exception thrown by a handler.
 */
export function readTar(
  input: Readable,
  name: string,
  h: TarHandlers,
): Promise<{entries: number; rawHeaders: boolean}> {
  return new Promise((resolve, reject) => {
    let failed: Error | undefined
    let entries = 0
    let sawEntry = false
    const parser = new RawParser({
      strict: false,
      maxMetaEntrySize: 16 * 1024 * 1024,
      onwarn: (code: string, message: string | Error) => {
        if (code === 'TAR_BAD_ARCHIVE' && !sawEntry)
          return stop(fail('EINVAL', `${name}: not a tar archive (${String(message)})`))
        h.warning({
          code: 'TAR_WARNING',
          path: name,
          message: `${code}: ${message instanceof Error ? message.message : message}`,
        })
      },
    } as ConstructorParameters<typeof Parser>[0])
    if (!parser.raw)
      h.warning({
        code: 'TAR_DECODED',
        path: name,
        message:
          'this node-tar version hides raw headers: non-UTF-8 names, nanosecond times and xattrs are read as node-tar decodes them',
      })
    const stop = (e: Error) => {
      if (failed) return
      failed = e
      input.unpipe?.(parser as never)
      input.destroy?.()
      reject(e)
    }
    const guard = (fn: () => void) => {
      if (failed) return
      try {
        fn()
      } catch (e) {
        stop(e as Error)
      }
    }
    parser.on('entry', (re: WithRaw) => {
      sawEntry = true
      // the raw bytes are attached right after node-tar emits the entry: look a microtask later
      queueMicrotask(() =>
        guard(() => {
          const {entry, why, shown} = decodeEntry(re, re[RAW])
          if (!entry) {
            h.warning({code: 'TAR_SKIPPED', path: shown, message: why!})
            re.resume()
            return
          }
          entries++
          if (entry.type !== 'file') {
            h.entry(entry, {onData: () => {}})
            re.resume()
            return
          }
          let onData: ((c: Buffer) => void) | undefined
          h.entry(entry, {onData: (fn) => (onData = fn)})
          re.on('data', (c: Buffer) => guard(() => onData?.(c)))
          re.on('end', () => guard(() => h.end?.(entry)))
          re.resume()
        }),
      )
    })
    parser.on('ignoredEntry', (re: WithRaw) => {
      sawEntry = true
      if (!re.meta)
        h.warning({code: 'TAR_SKIPPED', path: re.path, message: `tar entry type ${re.type} is not supported; skipped`})
    })
    parser.on('error', (e: Error) => stop(fail('EINVAL', `${name}: ${e.message}`)))
    parser.on('end', () => queueMicrotask(() => (failed ? undefined : resolve({entries, rawHeaders: parser.raw}))))
    input.on('error', (e: NodeJS.ErrnoException) => stop(e))
    input.pipe(parser as never)
  })
}
