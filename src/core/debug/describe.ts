/**
 * Describing a file tree as manifest entries (manifest.ts) — an image, a
 * host directory or a tar archive. `razorfs dump --manifest` prints one,
 * `razorfs diff` compares two (diff-entries.ts).
 *
 * Entries come depth first, names in byte order, parents before children;
 * the first name of a hard-linked inode is a full entry and later names are
 * `hardlink` entries pointing at it. Times: mtime always; atime, ctime and
 * birth time only when they differ from mtime (or with `allTimes`).
 */
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type {Readable} from 'node:stream'
import {hostXattrs} from '../host/host-xattrs.js'
import type {Image} from '../image/image.js'
import type {ManifestEntry, ManifestType, ManifestXattr} from '../host/manifest.js'
import {readTar} from '../host/tar-reader.js'
import type {FileType, Timespec} from '../types.js'
import {timespecFromNs} from '../time.js'
import {splitDev} from '../mkfs/tree-edit.js'

export interface DescribeOptions {
  /** Hash file contents (default true). */
  hashes?: boolean
  /** atime, ctime and birth time on every entry. */
  allTimes?: boolean
  onWarning?: (w: {code: string; path: string; message: string}) => void
}

const CHUNK = 1024 * 1024
const SLASH = Buffer.from('/')

const sameTime = (a: Timespec, b: Timespec) => a.sec === b.sec && a.nsec === b.nsec

function setTimes(
  e: ManifestEntry,
  t: {mtime: Timespec; atime?: Timespec; ctime?: Timespec; crtime?: Timespec},
  all: boolean,
): void {
  e.mtime = t.mtime
  for (const k of ['atime', 'ctime', 'crtime'] as const) {
    const v = t[k]
    if (v && (all || !sameTime(v, t.mtime))) e[k] = v
  }
}

const childPath = (dir: Buffer, name: Buffer) =>
  dir.length === 1 ? Buffer.concat([SLASH, name]) : Buffer.concat([dir, SLASH, name])

// ---------------------------------------------------------------------------
// image

export function describeImage(img: Image, opts: DescribeOptions = {}): ManifestEntry[] {
  const out: ManifestEntry[] = []
  const firstName = new Map<number, Buffer>()
  const hashes = opts.hashes ?? true
  const visit = (ino: number, p: Buffer) => {
    const st = img.stat(ino)
    if (st.type !== 'dir' && st.nlink > 1) {
      const first = firstName.get(ino)
      if (first) {
        out.push({path: p, type: 'hardlink', target: first})
        return
      }
      firstName.set(ino, p)
    }
    const e: ManifestEntry = {path: p, type: st.type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid}
    setTimes(e, st, opts.allTimes ?? false)
    if (st.type === 'file') {
      e.size = st.size
      if (hashes) {
        const h = crypto.createHash('sha256')
        for (let off = 0; off < st.size; off += CHUNK) h.update(img.read(ino, off, Math.min(CHUNK, st.size - off)))
        e.sha256 = h.digest('hex')
      }
    }
    if (st.type === 'symlink') e.target = img.readlink(ino)
    if (st.type === 'chardev' || st.type === 'blockdev') e.dev = splitDev(st.rdev)
    if (st.flags & 1) e.flags = ['nocompress']
    const names = img.listXattrs(ino).sort()
    if (names.length) e.xattrs = names.map((name) => ({name, value: img.getXattr(ino, name)}))
    out.push(e)
    if (st.type === 'dir') {
      const entries = img.readdir(ino).sort((a, b) => Buffer.compare(a.name, b.name))
      for (const c of entries) visit(c.ino, childPath(p, c.name))
    }
  }
  visit(1, Buffer.from('/'))
  return out
}

// ---------------------------------------------------------------------------
// host directory

function typeOfMode(mode: number): FileType | undefined {
  switch (mode & 0o170000) {
    case 0o100000:
      return 'file'
    case 0o040000:
      return 'dir'
    case 0o120000:
      return 'symlink'
    case 0o020000:
      return 'chardev'
    case 0o060000:
      return 'blockdev'
    case 0o010000:
      return 'fifo'
    case 0o140000:
      return 'socket'
  }
  return undefined
}

/** A string path fs-xattr accepts for any host path (a symlink in a scratch directory for non-UTF-8 ones). */
class XattrPaths {
  private dir?: string
  at(p: Buffer): {path: string; close: () => void} {
    const s = p.toString('utf8')
    if (Buffer.from(s, 'utf8').equals(p)) return {path: s, close: () => {}}
    this.dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'razorfs-xattr-'))
    const link = path.join(this.dir, 'x')
    fs.symlinkSync(path.isAbsolute(s) ? p : Buffer.concat([Buffer.from(process.cwd() + '/'), p]), link)
    return {path: link, close: () => fs.rmSync(link, {force: true})}
  }
  close(): void {
    if (this.dir) fs.rmSync(this.dir, {recursive: true, force: true})
  }
}

export function describeHost(root: string, opts: DescribeOptions = {}): ManifestEntry[] {
  const out: ManifestEntry[] = []
  const firstName = new Map<string, Buffer>()
  const hashes = opts.hashes ?? true
  const xa = hostXattrs()
  const paths = new XattrPaths()
  const buf = Buffer.allocUnsafe(CHUNK)
  const warn = (p: Buffer, message: string) => opts.onWarning?.({code: 'UNREADABLE', path: p.toString('utf8'), message})
  const visit = (host: Buffer, p: Buffer) => {
    let st: fs.BigIntStats
    try {
      st = fs.lstatSync(host, {bigint: true})
    } catch (e) {
      warn(host, `cannot stat (${(e as NodeJS.ErrnoException).code}); skipped`)
      return
    }
    const type = typeOfMode(Number(st.mode))
    if (!type) return
    if (type !== 'dir' && st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`
      const first = firstName.get(key)
      if (first) {
        out.push({path: p, type: 'hardlink', target: first})
        return
      }
      firstName.set(key, p)
    }
    const e: ManifestEntry = {path: p, type, mode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid)}
    setTimes(
      e,
      {
        mtime: timespecFromNs(st.mtimeNs),
        atime: timespecFromNs(st.atimeNs),
        ctime: timespecFromNs(st.ctimeNs),
        crtime: st.birthtimeNs > 0n ? timespecFromNs(st.birthtimeNs) : undefined,
      },
      opts.allTimes ?? false,
    )
    if (type === 'file') {
      e.size = Number(st.size)
      if (hashes) {
        try {
          const h = crypto.createHash('sha256')
          const fd = fs.openSync(host, 'r')
          try {
            let off = 0
            for (let n; (n = fs.readSync(fd, buf, 0, CHUNK, off)) > 0; off += n) h.update(buf.subarray(0, n))
          } finally {
            fs.closeSync(fd)
          }
          e.sha256 = h.digest('hex')
        } catch (err) {
          warn(host, `cannot read (${(err as NodeJS.ErrnoException).code}); content not compared`)
        }
      }
    }
    if (type === 'symlink') e.target = fs.readlinkSync(host, {encoding: 'buffer'})
    if (type === 'chardev' || type === 'blockdev') e.dev = splitDev(Number(st.rdev))
    if (xa && type !== 'symlink') {
      const at = paths.at(host)
      try {
        const names = xa.listAttributesSync(at.path).sort()
        if (names.length)
          e.xattrs = names.map((name): ManifestXattr => ({name, value: xa.getAttributeSync(at.path, name)}))
      } catch {
        // no xattr support on this host file system: nothing to compare
      } finally {
        at.close()
      }
    }
    out.push(e)
    if (type === 'dir') {
      let names: Buffer[]
      try {
        names = fs.readdirSync(host, {encoding: 'buffer'})
      } catch (err) {
        warn(host, `directory not readable (${(err as NodeJS.ErrnoException).code}); its contents are not compared`)
        return
      }
      for (const n of names.sort(Buffer.compare)) visit(Buffer.concat([host, SLASH, n]), childPath(p, n))
    }
  }
  try {
    visit(Buffer.from(root), Buffer.from('/'))
  } finally {
    paths.close()
  }
  return out
}

// ---------------------------------------------------------------------------
// tar

/**
 * A tar archive as the image mkfs --tar would make of it: later entries
 * replace earlier ones, directories that are only implied by their contents
 * are marked `implied` (their attributes are unknown).
 */
export async function describeTar(
  stream: Readable,
  name: string,
  opts: DescribeOptions = {},
): Promise<{entries: ManifestEntry[]; implied: Set<string>}> {
  const byPath = new Map<string, ManifestEntry>()
  const implied = new Set<string>()
  const hashes = opts.hashes ?? true
  let hash: crypto.Hash | undefined
  let current: ManifestEntry | undefined
  await readTar(stream, name, {
    warning: (w) => opts.onWarning?.(w),
    entry: (t, body) => {
      const p = t.path.length ? Buffer.concat([SLASH, t.path]) : Buffer.from('/')
      // the parents it implies
      for (let i = t.path.indexOf(0x2f); i > 0; i = t.path.indexOf(0x2f, i + 1)) {
        const k = Buffer.concat([SLASH, t.path.subarray(0, i)]).toString('latin1')
        if (!byPath.has(k)) implied.add(k)
      }
      const key = p.toString('latin1')
      implied.delete(key)
      const type: ManifestType = t.type
      const e: ManifestEntry = {path: p, type}
      if (type === 'hardlink') e.target = Buffer.concat([SLASH, t.linkpath!])
      else {
        e.mode = t.mode
        e.uid = t.uid
        e.gid = t.gid
        setTimes(e, {mtime: t.mtime, atime: t.atime, ctime: t.ctime}, opts.allTimes ?? false)
        if (type === 'symlink') e.target = t.linkpath
        if (t.dev) e.dev = t.dev
        if (t.xattrs.length) e.xattrs = t.xattrs
      }
      byPath.delete(key) // a replaced entry moves to its new place
      byPath.set(key, e)
      if (type === 'file') {
        e.size = t.size
        current = e
        hash = hashes ? crypto.createHash('sha256') : undefined
        body.onData((c) => hash?.update(c))
        if (t.size === 0 && hash) e.sha256 = hash.digest('hex')
      }
    },
    end: () => {
      if (current && hash && !current.sha256) current.sha256 = hash.digest('hex')
      current = undefined
    },
  })
  if (!byPath.has('/')) implied.add('/')
  const entries = [...byPath.values()]
  sortEntries(entries)
  // hard links resolve to the entry they name; a link to a link names the first
  return {entries, implied}
}

/** Sort as describeImage/describeHost emit: depth first, names in byte order. */
export function sortEntries(entries: ManifestEntry[]): void {
  const key = (p: Buffer) => {
    // compare component by component: replace '/' by a byte lower than any name byte
    const k = Buffer.from(p)
    for (let i = 0; i < k.length; i++) if (k[i] === 0x2f) k[i] = 0
    return k
  }
  const keys = new Map(entries.map((e) => [e, key(e.path)]))
  entries.sort((a, b) => Buffer.compare(keys.get(a)!, keys.get(b)!))
}
