/**
 * Image → image copy: an entry (recursively with `recursive`) of one image
 * into a directory of another image, or of the same one. Same rules as the
 * other copies (copy.ts): names are checked (a hostile source image cannot
 * create '..' or 'a/b' in the destination), each source directory is copied
 * at most once (no cycles, no blow-up through shared subdirectories),
 * holes stay holes, memory is bounded (extent by extent), and existing
 * destination entries are refused, skipped or replaced whole according to
 * clobber. Copying a directory into itself is refused before anything is
 * written.
 */
import {fail, isRazorError} from '../errors.js'
import {mappedRanges} from '../fs/mapped-ranges.js'
import type {Image} from '../image/image.js'
import type {InodeAttrs, Stat} from '../types.js'
import {
  ByteBudget,
  EntryFailure,
  errnoText,
  join,
  plainAttrs,
  PROGRESS_BYTES,
  unsafeName,
  type CopyEvent,
  type CopyOptions,
} from './copy.js'

export interface ImageSource {
  ino: number
  /** Path inside the source image (for following symlinks). */
  path: Buffer
  /** How it is shown: IMAGE:PATH. */
  label: Buffer
}

export interface ImageTarget {
  /** Directory of the destination image to copy into. */
  dir: number
  /** The name to create (or merge into) there. */
  name: Buffer
  label: Buffer
  /** Merge the source directory's contents into `dir` itself. */
  into?: boolean
}

/** Directories nested deeper than this are not copied (the walk recurses). */
const MAX_DEPTH = 2000

const ENTRY_LEVEL = new Set([
  'ECHECKSUM',
  'ECORRUPT',
  'ELOOP',
  'ENOENT',
  'ENOTDIR',
  'EINVAL',
  'ENAMETOOLONG',
  'EMLINK',
  'EOVERFLOW',
  'EEXIST',
])

/** Whether directory `dir` of `img` is `ancestor` or below it. */
export function isWithin(img: Image, dir: number, ancestor: number): boolean {
  for (let p = dir, hops = 0; hops < 100000; hops++) {
    if (p === ancestor) return true
    const parent = img.stat(p).parent
    if (parent === p) return false
    p = parent
  }
  return false
}

export function* copyImage(
  src: Image,
  source: ImageSource,
  dst: Image,
  target: ImageTarget,
  opts: CopyOptions = {},
): Generator<CopyEvent, void> {
  const clobber = opts.clobber ?? 'error'
  const preserve = opts.preserve ?? false
  const xattrs = opts.xattrs ?? preserve
  const budget = new ByteBudget(opts.limit)
  const visited = new Set<number>()
  const copies = new Map<number, number>()
  const dirAttrs: Array<{ino: number; attrs: InodeAttrs}> = []
  const same = src === dst

  /** Attributes of the copy of `st` made in the destination directory `dir`. */
  const attrsOf = (st: Stat, dir: number): InodeAttrs =>
    preserve
      ? {mode: st.mode, uid: st.uid, gid: st.gid, rdev: st.rdev, atime: st.atime, mtime: st.mtime, crtime: st.crtime}
      : plainAttrs(st.mode, st.rdev, opts, dst.stat(dir))

  const report = (e: EntryFailure) => {
    if (!opts.onError) throw fail('EINVAL', `${e.path}: ${e.message}`)
    opts.onError(e.problem())
  }

  const copyXattrs = (from: number, to: number): void => {
    if (!xattrs) return
    for (const n of src.listXattrs(from)) dst.setXattr(to, n, src.getXattr(from, n))
  }

  function* data(from: number, to: number, size: number, label: Buffer): Generator<CopyEvent, void> {
    let since = 0
    for (const r of mappedRanges(src, from, size)) {
      const buf = src.read(from, r.offset, r.length)
      if (isZero(buf)) continue
      budget.take(buf.length, label.toString())
      dst.write(to, r.offset, buf)
      since += buf.length
      if (since >= PROGRESS_BYTES) {
        yield {kind: 'progress', bytes: since, src: label}
        since = 0
      }
    }
    if (dst.stat(to).size !== size) dst.truncate(to, size)
  }

  function* entry(
    ino: number,
    path: Buffer,
    dir: number,
    name: Buffer,
    srcLabel: Buffer,
    dstLabel: Buffer,
    depth: number,
    top: boolean,
  ): Generator<CopyEvent, void> {
    let created: number | undefined
    let createdName = name
    try {
      let st = src.stat(ino)
      if (st.type === 'symlink' && (opts.dereference || (top && opts.followTop))) {
        try {
          ino = src.resolve(path, {follow: true})
        } catch (e) {
          if (isRazorError(e) && (e.code === 'ENOENT' || e.code === 'ELOOP'))
            throw new EntryFailure(e.code, srcLabel, `cannot stat '${srcLabel}': ${errnoText(e.code)}`)
          throw e
        }
        st = src.stat(ino)
      }
      const attrs = attrsOf(st, dir)
      if (st.type === 'dir') {
        if (!opts.recursive)
          throw new EntryFailure('EISDIR', srcLabel, `-r not specified; omitting directory '${srcLabel}'`)
        if (visited.has(ino))
          throw new EntryFailure(
            'ELOOP',
            srcLabel,
            `directory inode ${ino} appears more than once in the source image (a cycle or a hard-linked directory); skipped`,
          )
        if (depth >= MAX_DEPTH)
          throw new EntryFailure('ELOOP', srcLabel, `directories nested more than ${MAX_DEPTH} deep; not copied`)
        visited.add(ino)
        let to: number
        let merged = false
        if (top && target.into) {
          to = dir
          merged = true
        } else {
          const existing = dst.lookup(dir, name)
          if (existing !== undefined) {
            if (dst.stat(existing).type !== 'dir')
              throw new EntryFailure(
                'ENOTDIR',
                dstLabel,
                `cannot overwrite non-directory '${dstLabel}' with directory '${srcLabel}'`,
              )
            to = existing
            merged = true
          } else to = dst.mkdir(dir, name, attrs)
        }
        if (!merged || preserve) copyXattrs(ino, to)
        const entries = src.readdir(ino).sort((a, b) => Buffer.compare(a.name, b.name))
        for (const e of entries) {
          const childSrc = join(srcLabel, e.name)
          const why = unsafeName(e.name)
          if (why) {
            report(
              new EntryFailure(
                'EUNSAFE',
                childSrc,
                `refusing ${why} in directory '${srcLabel}' (a damaged or hostile image); skipped`,
              ),
            )
            continue
          }
          yield* entry(e.ino, join(path, e.name), to, e.name, childSrc, join(dstLabel, e.name), depth + 1, false)
        }
        if (!merged || preserve) dirAttrs.push({ino: to, attrs})
        yield {kind: 'entry', type: 'dir', src: srcLabel, dst: dstLabel, bytes: 0}
        return
      }
      const existing = dst.lookup(dir, name)
      if (existing !== undefined) {
        if (same && existing === ino)
          throw new EntryFailure('EINVAL', srcLabel, `'${srcLabel}' and '${dstLabel}' are the same file`)
        if (dst.stat(existing).type === 'dir')
          throw new EntryFailure(
            'EISDIR',
            dstLabel,
            `cannot overwrite directory '${dstLabel}' with non-directory '${srcLabel}'`,
          )
        if (clobber === 'skip') {
          yield {kind: 'skipped', src: srcLabel, dst: dstLabel}
          return
        }
        if (clobber === 'error')
          throw new EntryFailure(
            'EEXIST',
            dstLabel,
            `'${dstLabel}' exists; not overwritten (use -f to replace it or -n to skip it)`,
          )
        createdName = Buffer.from(`.razorfs-cp-${process.pid}-${Math.random().toString(36).slice(2)}`)
      }
      const first = opts.hardlinks && st.nlink > 1 ? copies.get(ino) : undefined
      if (first !== undefined) {
        dst.link(first, dir, createdName)
        if (createdName !== name) dst.rename(dir, createdName, dir, name)
        yield {kind: 'entry', type: st.type, src: srcLabel, dst: dstLabel, bytes: 0, link: true}
        return
      }
      let to: number
      if (st.type === 'file') {
        to = created = dst.create(dir, createdName, attrs)
        yield* data(ino, to, st.size, srcLabel)
        copyXattrs(ino, to)
        if (preserve) dst.setattr(to, attrs)
      } else if (st.type === 'symlink') {
        to = created = dst.symlink(dir, createdName, src.readlink(ino), attrs)
        if (preserve) dst.setattr(to, attrs)
      } else {
        to = created = dst.create(dir, createdName, attrs)
        copyXattrs(ino, to)
        if (preserve) dst.setattr(to, attrs)
      }
      if (createdName !== name) dst.rename(dir, createdName, dir, name)
      created = undefined
      if (opts.hardlinks && st.nlink > 1) copies.set(ino, to)
      yield {kind: 'entry', type: st.type, src: srcLabel, dst: dstLabel, bytes: st.type === 'file' ? st.size : 0}
    } catch (e) {
      if (e instanceof EntryFailure) return report(e)
      if (isRazorError(e) && ENTRY_LEVEL.has(e.code))
        return report(new EntryFailure(e.code, srcLabel, `cannot copy '${srcLabel}': ${e.message}`))
      throw e
    } finally {
      if (created !== undefined) {
        try {
          dst.unlink(dir, createdName)
        } catch {
          // report the first error
        }
      }
    }
  }

  if (same) {
    const st = src.stat(source.ino)
    if (st.type === 'dir' && opts.recursive && isWithin(dst, target.dir, source.ino)) {
      report(
        new EntryFailure(
          'EINVAL',
          source.label,
          `cannot copy a directory, '${source.label}', into itself, '${target.label}'`,
        ),
      )
      return
    }
  }
  yield* entry(source.ino, source.path, target.dir, target.name, source.label, target.label, 0, true)
  for (const {ino, attrs} of dirAttrs) dst.setattr(ino, attrs)
}

const ZERO = Buffer.alloc(1024 * 1024)
function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i += ZERO.length) {
    const part = b.subarray(i, Math.min(b.length, i + ZERO.length))
    if (!part.equals(ZERO.subarray(0, part.length))) return false
  }
  return true
}
