/**
 * Filling an image for mkfs from its sources, in this order: a host tree
 * (populate), a tar stream over it, then a manifest over both. File data
 * goes through the DataPipeline (planned on worker threads). Owner maps,
 * exclusions and timestamp clamping apply to the tree and the tar; the
 * manifest's own values are final (only clamped).
 */
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type {Readable} from 'node:stream'
import {fail, isRazorError} from '../errors.js'
import type {Image} from '../image/image.js'
import {escapeBytes, FLAG_NAMES, type ManifestEntry, type ManifestXattr} from '../host/manifest.js'
import {PlanPool} from '../fs/plan-pool.js'
import {populate, type PopulateResult} from '../host/populate.js'
import {readTar, type TarEntry} from '../host/tar-reader.js'
import type {FileType, InodeAttrs, Timespec} from '../types.js'
import type {AttrPolicy} from './attrs.js'
import {AHEAD_BYTES, DataPipeline, type FileHandle} from './pipeline.js'
import {Prefetcher} from './prefetch.js'
import {makedev, TYPE_BITS, TreeEditor} from './tree-edit.js'

export type BuildPhase = 'tree' | 'tar' | 'spec' | 'write'

export interface BuildProgress {
  phase: BuildPhase
  files: number
  bytes: number
  path: string
}

export interface BuildWarning {
  code: string
  path: string
  message: string
}

export interface BuildOptions {
  /** Host directory copied first. */
  root?: string
  /** Tar stream laid over it. */
  tar?: {stream: Readable; name: string}
  /** Manifest entries laid over both; `dir` resolves their src= paths. */
  spec?: {entries: ManifestEntry[]; name: string; dir: string}
  policy: AttrPolicy
  exclude?: (rel: Buffer, type: FileType) => boolean
  /** Worker threads planning file data (0: on the main thread). */
  workers: number
  /** Pack file tails into shared packs (FORMAT.md §10); default true. */
  pack?: boolean
  /** The image's clock (times of things the build makes up). */
  now: () => Timespec
  onPhase?: (phase: BuildPhase) => void
  onProgress?: (p: BuildProgress) => void
  onWarning?: (w: BuildWarning) => void
}

export type BuildResult = PopulateResult & {implicitDirs: number}

const READ_CHUNK = 1024 * 1024

/** Read a host file through the pipeline and write it into `ino` now; returns the bytes, hashing them if asked. */
function copyHostFile(pipe: DataPipeline, src: Buffer | string, ino: number, hash?: crypto.Hash): number {
  const fd = fs.openSync(src, 'r')
  let h: FileHandle
  try {
    pipe.begin()
    pipe.readFd(fd, hash)
    h = pipe.end()
  } catch (e) {
    pipe.abort()
    throw e
  } finally {
    fs.closeSync(fd)
  }
  return pipe.writeFile(h, ino)
}

export async function buildImage(img: Image, o: BuildOptions): Promise<BuildResult> {
  const res: BuildResult = {
    files: 0,
    directories: 0,
    symlinks: 0,
    hardlinks: 0,
    specials: 0,
    bytesIn: 0,
    warnings: 0,
    implicitDirs: 0,
  }
  const warn = (w: BuildWarning) => {
    res.warnings++
    o.onWarning?.(w)
  }
  const pool = new PlanPool(o.workers)
  const pipe = new DataPipeline(img, pool, img.defaultPlanSettings(), o.pack ?? true)
  try {
    if (o.root !== undefined) {
      o.onPhase?.('tree')
      const ahead = new Prefetcher(o.root, o.exclude, pipe)
      try {
        const r = populate(img, o.root, {
          exclude: o.exclude,
          mapAttrs: (a) => o.policy.source(a),
          copyData: (src, ino) => {
            const h = ahead.take(src)
            return h ? pipe.writeFile(h, ino) : copyHostFile(pipe, src, ino)
          },
          onProgress: (p) => o.onProgress?.({phase: 'tree', ...p}),
          onWarning: (w) => o.onWarning?.(w),
        })
        for (const k of ['files', 'directories', 'symlinks', 'hardlinks', 'specials', 'bytesIn', 'warnings'] as const)
          res[k] += r[k]
      } finally {
        ahead.close()
      }
    }
    const editor = new TreeEditor(img, o.policy, o.now)
    if (o.tar) {
      o.onPhase?.('tar')
      await importTar(img, o, editor, pipe, res, warn)
    }
    if (o.spec) {
      o.onPhase?.('spec')
      applySpec(img, o, editor, pipe, res)
    }
    o.onPhase?.('write')
    pipe.flushPacks()
    editor.finish()
    res.implicitDirs = editor.implicitDirs
    return res
  } finally {
    await pool.close()
  }
}

// ---------------------------------------------------------------------------
// tar

function setXattrs(
  img: Image,
  ino: number,
  xattrs: ManifestXattr[] | undefined,
  shown: string,
  warn: (w: BuildWarning) => void,
): void {
  for (const x of xattrs ?? []) {
    try {
      img.setXattr(ino, x.name, x.value)
    } catch (e) {
      if (!isRazorError(e) || e.code === 'ENOSPC') throw e
      warn({code: 'XATTR_SKIPPED', path: shown, message: `xattr ${x.name} not stored: ${e.message}`})
    }
  }
}

interface QueuedEntry {
  e: TarEntry
  shown: string
  /** Files: the content, read and being planned. */
  handle?: FileHandle
}

/**
 * Entries are queued as the archive is read (file contents go to the
 * workers) and applied in archive order once AHEAD_BYTES of content wait.
 */
async function importTar(
  img: Image,
  o: BuildOptions,
  editor: TreeEditor,
  pipe: DataPipeline,
  res: BuildResult,
  warn: (w: BuildWarning) => void,
): Promise<void> {
  const {stream, name} = o.tar!
  const excludedDirs = new Set<string>()
  const isExcluded = (rel: Buffer, type: FileType): boolean => {
    if (!o.exclude) return false
    const s = rel.toString('latin1')
    for (let i = s.indexOf('/'); i >= 0; i = s.indexOf('/', i + 1)) if (excludedDirs.has(s.slice(0, i))) return true
    if (!o.exclude(rel, type)) return false
    if (type === 'dir') excludedDirs.add(s)
    return true
  }
  const queue: QueuedEntry[] = []
  let reading: QueuedEntry | undefined
  const apply = (limit: number) => {
    while (queue.length && (pipe.pendingBytes > limit || limit < 0 || !queue[0]!.handle))
      applyTarEntry(img, o, editor, pipe, res, warn, queue.shift()!)
  }
  const finishFile = () => {
    const q = reading
    if (!q) return
    reading = undefined
    q.handle = pipe.end()
    if (q.handle.size !== q.e.size)
      warn({
        code: 'SIZE_CHANGED',
        path: q.shown,
        message: `tar entry has ${q.handle.size} bytes, its header says ${q.e.size}`,
      })
    queue.push(q)
    apply(AHEAD_BYTES)
  }
  await readTar(stream, name, {
    warning: (w) => warn(w),
    end: () => finishFile(),
    entry: (e, body) => {
      const shown = e.path.length ? e.path.toString('utf8') : '.'
      if (e.path.length && isExcluded(e.path, e.type === 'hardlink' ? 'file' : e.type)) return
      const q: QueuedEntry = {e, shown}
      if (e.type !== 'file') {
        queue.push(q)
        apply(AHEAD_BYTES)
        return
      }
      reading = q
      pipe.begin()
      body.onData((c) => pipe.push(c))
      if (e.size === 0) finishFile()
    },
  })
  if (reading) throw fail('EINVAL', `${name}: the archive ends inside a file`)
  apply(-1)
}

function applyTarEntry(
  img: Image,
  o: BuildOptions,
  editor: TreeEditor,
  pipe: DataPipeline,
  res: BuildResult,
  warn: (w: BuildWarning) => void,
  q: QueuedEntry,
): void {
  const {e, shown} = q
  const ftype: FileType = e.type === 'hardlink' ? 'file' : e.type
  const attrs = o.policy.source({
    mode: TYPE_BITS[ftype] | e.mode,
    uid: e.uid,
    gid: e.gid,
    rdev: e.dev ? makedev(e.dev.major, e.dev.minor) : 0,
    mtime: e.mtime,
    atime: e.atime ?? e.mtime,
    ctime: e.ctime ?? e.mtime,
    crtime: e.mtime,
  })
  try {
    if (e.path.length === 0) {
      if (e.type !== 'dir') throw fail('EINVAL', 'the archive root is not a directory')
      editor.setDirAttrs(1, attrs)
      setXattrs(img, 1, e.xattrs, shown, warn)
      return
    }
    const {dir, name: base} = editor.parent(e.path)
    const existing = img.lookup(dir, base)
    if (existing !== undefined && e.type === 'dir' && img.stat(existing).type === 'dir') {
      editor.setDirAttrs(existing, attrs)
      editor.noteDir(e.path, existing)
      setXattrs(img, existing, e.xattrs, shown, warn)
      return
    }
    if (e.type === 'hardlink') {
      const target = editor.resolve(e.linkpath!)
      if (target === undefined || img.stat(target).type === 'dir') {
        warn({
          code: 'TAR_SKIPPED',
          path: shown,
          message: `hard link target '${e.linkpath!.toString('utf8')}' is not in the image; skipped`,
        })
        return
      }
      if (existing === target) return
      if (existing !== undefined) editor.remove(dir, base)
      editor.adding(dir)
      img.link(target, dir, base)
      res.hardlinks++
      return
    }
    if (existing !== undefined) editor.remove(dir, base)
    editor.adding(dir)
    let ino: number
    switch (e.type) {
      case 'dir':
        ino = img.mkdir(dir, base, attrs)
        editor.noteDir(e.path, ino)
        editor.setDirAttrs(ino, attrs)
        setXattrs(img, ino, e.xattrs, shown, warn)
        res.directories++
        return
      case 'symlink':
        ino = img.symlink(dir, base, e.linkpath!, attrs)
        img.setattr(ino, attrs)
        res.symlinks++
        break
      case 'file':
        ino = img.create(dir, base, attrs)
        res.files++
        res.bytesIn += pipe.writeFile(q.handle!, ino)
        o.onProgress?.({phase: 'tar', files: res.files, bytes: res.bytesIn, path: shown})
        break
      default:
        ino = img.create(dir, base, attrs)
        res.specials++
    }
    if (e.xattrs.length) {
      setXattrs(img, ino, e.xattrs, shown, warn)
      img.setattr(ino, attrs)
    }
  } catch (err) {
    if (isRazorError(err) && (err.code === 'ENAMETOOLONG' || err.code === 'EINVAL' || err.code === 'ENOTDIR')) {
      warn({code: 'TAR_SKIPPED', path: shown, message: `${err.message}; skipped`})
      return
    }
    throw err
  } finally {
    if (q.handle) pipe.dropFile(q.handle)
  }
}

// ---------------------------------------------------------------------------
// manifest (--spec)

const DEFAULT_MODE: Record<FileType, number> = {
  file: 0o644,
  dir: 0o755,
  symlink: 0o777,
  chardev: 0o600,
  blockdev: 0o600,
  fifo: 0o644,
  socket: 0o755,
}

function hashInode(img: Image, ino: number, size: number): string {
  const h = crypto.createHash('sha256')
  for (let off = 0; off < size; off += READ_CHUNK) h.update(img.read(ino, off, Math.min(READ_CHUNK, size - off)))
  return h.digest('hex')
}

function applySpec(img: Image, o: BuildOptions, editor: TreeEditor, pipe: DataPipeline, res: BuildResult): void {
  const {entries, name, dir: specDir} = o.spec!
  const where = (e: ManifestEntry) => `${name}:${e.line ?? '?'}: ${escapeBytes(e.path)}`
  const pendingHashes: Array<{e: ManifestEntry; got: crypto.Hash}> = []
  for (const e of entries) {
    const rel = e.path.subarray(1)
    const given: InodeAttrs = {}
    if (e.mode !== undefined) given.mode = e.mode
    if (e.uid !== undefined) given.uid = e.uid
    if (e.gid !== undefined) given.gid = e.gid
    // with mtime given, an unlisted atime, ctime or crtime is the same (as dump --manifest leaves them out)
    if (e.mtime)
      Object.assign(
        given,
        o.policy.times({
          mtime: e.mtime,
          atime: e.atime ?? e.mtime,
          ctime: e.ctime ?? e.mtime,
          crtime: e.crtime ?? e.mtime,
        }),
      )
    else if (!o.policy.reproducible) for (const k of ['atime', 'ctime', 'crtime'] as const) if (e[k]) given[k] = e[k]
    if (e.flags) given.flags = e.flags.reduce((f, n) => f | FLAG_NAMES[n]!, 0)
    // the root
    if (rel.length === 0) {
      editor.setDirAttrs(1, given)
      setXattrs(img, 1, e.xattrs, where(e), (w) => (res.warnings++, o.onWarning?.(w)))
      continue
    }
    const {dir, name: base} = editor.parent(rel)
    const existing = img.lookup(dir, base)
    const existingType = existing === undefined ? undefined : img.stat(existing).type
    if (e.type === 'hardlink') {
      const target = editor.resolve(e.target!.subarray(1))
      if (target === undefined)
        throw fail(
          'ENOENT',
          `${where(e)}: hardlink target ${escapeBytes(e.target!)} does not exist (it must come earlier or from --root/--tar)`,
        )
      if (img.stat(target).type === 'dir')
        throw fail('EINVAL', `${where(e)}: hardlink target ${escapeBytes(e.target!)} is a directory`)
      if (existing === target) continue
      if (existing !== undefined) editor.remove(dir, base)
      editor.adding(dir)
      img.link(target, dir, base)
      res.hardlinks++
      continue
    }
    const type = e.type as FileType
    const sameType =
      existingType === type &&
      !(type === 'symlink' && !e.target!.equals(img.readlink(existing!))) &&
      !(type === 'file' && e.src !== undefined)
    if (existing !== undefined && sameType) {
      // override what the entry gives; keep the rest
      if (type === 'file' && (e.size !== undefined || e.sha256)) {
        const st = img.stat(existing)
        if (e.size !== undefined && st.size !== e.size)
          throw fail('EINVAL', `${where(e)}: the image's file has ${st.size} bytes, the manifest says ${e.size}`)
        pipe.flushPacks()
        if (e.sha256 && hashInode(img, existing, st.size) !== e.sha256)
          throw fail('EINVAL', `${where(e)}: content does not match the manifest's sha256`)
      }
      if ((type === 'chardev' || type === 'blockdev') && e.dev) given.rdev = makedev(e.dev.major, e.dev.minor)
      setXattrs(img, existing, e.xattrs, where(e), (w) => (res.warnings++, o.onWarning?.(w)))
      if (type === 'dir') editor.setDirAttrs(existing, given)
      else if (Object.keys(given).length || e.xattrs?.length) img.setattr(existing, given)
      continue
    }
    if (type === 'file' && e.src === undefined && (e.size ?? 0) > 0)
      throw fail('ENOENT', `${where(e)}: no content: the path is not in --root/--tar and the entry has no src=`)
    if (existing !== undefined) editor.remove(dir, base)
    editor.adding(dir)
    const t = o.policy.reproducible ? undefined : o.now()
    const attrs: InodeAttrs = {
      uid: 0,
      gid: 0,
      ...o.policy.times({mtime: e.mtime ?? t, atime: e.atime ?? t, ctime: e.ctime ?? t, crtime: e.crtime ?? t}),
      ...given,
      mode: TYPE_BITS[type] | (e.mode ?? DEFAULT_MODE[type]),
    }
    if (e.dev) attrs.rdev = makedev(e.dev.major, e.dev.minor)
    let ino: number
    switch (type) {
      case 'dir':
        ino = img.mkdir(dir, base, attrs)
        editor.noteDir(rel, ino)
        editor.setDirAttrs(ino, attrs)
        res.directories++
        break
      case 'symlink':
        ino = img.symlink(dir, base, e.target!, attrs)
        res.symlinks++
        break
      case 'file': {
        ino = img.create(dir, base, attrs)
        res.files++
        if (e.src !== undefined) {
          const src = path.resolve(specDir, e.src)
          const h = crypto.createHash('sha256')
          let n: number
          try {
            n = copyHostFile(pipe, src, ino, h)
          } catch (err) {
            throw fail(
              'ENOENT',
              `${where(e)}: cannot read src ${src} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
              {path: src},
            )
          }
          res.bytesIn += n
          if (e.size !== undefined && n !== e.size)
            throw fail('EINVAL', `${where(e)}: ${src} has ${n} bytes, the manifest says ${e.size}`)
          if (e.sha256) pendingHashes.push({e, got: h})
        }
        break
      }
      default:
        ino = img.create(dir, base, attrs)
        res.specials++
    }
    if (e.xattrs?.length) {
      setXattrs(img, ino, e.xattrs, where(e), (w) => (res.warnings++, o.onWarning?.(w)))
      if (type !== 'dir') img.setattr(ino, attrs)
    }
    o.onProgress?.({phase: 'spec', files: res.files, bytes: res.bytesIn, path: escapeBytes(e.path)})
  }
  for (const {e, got} of pendingHashes)
    if (got.digest('hex') !== e.sha256)
      throw fail('EINVAL', `${where(e)}: src content does not match the manifest's sha256`)
}
