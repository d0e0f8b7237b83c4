/**
 * mkfs --tar: laying a tar stream over the image, entries applied in archive
 * order while the contents of the next files are already being planned.
 */
import {fail, isRazorError} from '../errors.js'
import type {Image} from '../image/image.js'
import {readTar, type TarEntry} from '../host/tar-reader.js'
import type {FileType} from '../types.js'
import type {TreeExclude} from '../host/tree-walk.js'
import {setXattrs, type BuildOptions, type BuildResult, type BuildWarning} from './build-context.js'
import {AHEAD_BYTES, type DataPipeline, type FileHandle} from './pipeline.js'
import {makedev, TYPE_BITS, type TreeEditor} from './tree-edit.js'

/**
 * What mkfs leaves out of a tar archive (the census in estimate.ts decides
 * the same way: an excluded directory takes the entries below it along).
 */
export function tarExcluder(exclude: TreeExclude | undefined): TreeExclude | undefined {
  if (!exclude) return undefined
  const excludedDirs = new Set<string>()
  return (rel: Buffer, type: FileType): boolean => {
    const s = rel.toString('latin1')
    for (let i = s.indexOf('/'); i >= 0; i = s.indexOf('/', i + 1)) if (excludedDirs.has(s.slice(0, i))) return true
    if (!exclude(rel, type)) return false
    if (type === 'dir') excludedDirs.add(s)
    return true
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
export async function importTar(
  img: Image,
  o: BuildOptions,
  editor: TreeEditor,
  pipe: DataPipeline,
  res: BuildResult,
  warn: (w: BuildWarning) => void,
): Promise<void> {
  const {stream, name} = o.tar!
  const isExcluded = tarExcluder(o.exclude)
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
      if (isExcluded && e.path.length && isExcluded(e.path, e.type === 'hardlink' ? 'file' : e.type)) return
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
