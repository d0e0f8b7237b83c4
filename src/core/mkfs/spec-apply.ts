/**
 * mkfs --spec: laying manifest entries over the image. An existing entry
 * gets the fields the line gives; a missing one is created; size= and
 * sha256= are checked against the content.
 */
import crypto from 'node:crypto'
import path from 'node:path'
import {fail} from '../errors.js'
import type {Image} from '../image/image.js'
import {escapeBytes, FLAG_NAMES, type ManifestEntry} from '../host/manifest.js'
import type {FileType, InodeAttrs} from '../types.js'
import {copyHostFile, setXattrs, type BuildOptions, type BuildResult} from './build-context.js'
import type {DataPipeline} from './pipeline.js'
import {makedev, TYPE_BITS, type TreeEditor} from './tree-edit.js'

const READ_CHUNK = 1024 * 1024

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

export function applySpec(img: Image, o: BuildOptions, editor: TreeEditor, pipe: DataPipeline, res: BuildResult): void {
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
