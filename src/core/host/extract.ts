// One file over 400 lines: extract is one generator whose steps share its descriptors, frames and options through closures.
/**
 * Copy out: an image file or tree to a host directory, safe against hostile
 * images and against a host that changes under us.
 *
 * - Names from the image are checked before use: empty, '.', '..', anything
 *   with '/' or NUL is refused (the entry is skipped and reported).
 * - Nothing is placed through a symbolic link. The destination directory
 *   the user named is opened once; everything below it is reached through
 *   directory descriptors (/proc/self/fd/N/NAME, which resolves NAME in the
 *   directory N itself, like openat): directories are opened with
 *   O_NOFOLLOW|O_DIRECTORY right after mkdir, files are created with
 *   O_CREAT|O_EXCL|O_NOFOLLOW, symlinks and special files are made with
 *   calls that never follow the final name. A symlink planted on the host
 *   while we work makes that one entry fail; it is never followed.
 * - Existing host files are not overwritten unless clobber is 'replace'
 *   (cp -f): then the new file is written under a temporary name and renamed
 *   over the old one, so it is replaced whole or not at all.
 * - Set-user-ID and set-group-ID bits are kept only when preserving as root.
 * - Memory is bounded whatever the image declares: data is read extent by
 *   extent (at most one cluster each; the core bounds decompression to that),
 *   holes are skipped by seeking and the file's size set with ftruncate, so
 *   a file declaring 2^50 bytes over no data costs nothing; an optional
 *   total byte limit stops the copy. A directory is copied at most once, so
 *   cycles and shared subdirectories in a hostile tree cannot loop or
 *   multiply.
 */
import fs from 'node:fs'
import crypto from 'node:crypto'
import {isRazorError} from '../errors.js'
import {hostXattrs} from './host-xattrs.js'
import {at, HostTimes, mknodAt} from './host-ops.js'
import {mappedRanges} from '../fs/mapped-ranges.js'
import type {Image} from '../image/image.js'
import type {DirEntry, Stat} from '../types.js'
import {
  ByteBudget,
  EntryFailure,
  errnoText,
  isRoot,
  join,
  plainMode,
  processUmask,
  PROGRESS_BYTES,
  unsafeName,
  type CopyEvent,
  type CopyOptions,
  type CopyProblem,
} from './copy.js'

const {O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY} = fs.constants
const O_DIR = O_RDONLY | O_DIRECTORY | O_NOFOLLOW
const O_NEWFILE = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW

/** Directory descriptors held open at once; deeper trees are refused. */
export const MAX_DEPTH = 900

/** Image errors that concern one entry (a damaged file, a dangling link): reported, and the copy goes on. */
const ENTRY_LEVEL = new Set(['ECHECKSUM', 'ECORRUPT', 'ELOOP', 'ENOENT', 'ENOTDIR', 'EINVAL', 'ENAMETOOLONG'])

/** Host errors that stop the whole copy: the destination itself is unusable. */
const FATAL_HOST = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EMFILE', 'ENFILE'])

export interface ExtractSource {
  ino: number
  /** Path inside the image (for following symlinks with dereference). */
  path: Buffer
  /** How the source is shown: IMAGE:PATH. */
  label: Buffer
}

export interface ExtractTarget {
  /** An existing host directory the user named; trusted (it may be reached through symlinks). */
  dir: string
  /** The name to create (or merge into) inside it. */
  name: Buffer
  /** How the destination is shown in messages. */
  label: Buffer
  /** Merge into `dir` itself instead of creating `name` (copying an image's root into an existing directory). */
  into?: boolean
}

interface Frame {
  fd: number
  ino: number
  stat: Stat
  srcPath: Buffer
  src: Buffer
  dst: Buffer
  rel: Buffer
  entries: DirEntry[]
  i: number
  created: boolean
}

interface FirstCopy {
  rel: Buffer
  dev: number
  ino: number
}

function hostCode(e: unknown): string | undefined {
  const c = (e as NodeJS.ErrnoException)?.code
  return typeof c === 'string' && typeof (e as NodeJS.ErrnoException).errno === 'number' ? c : undefined
}

function splitRel(rel: Buffer): Buffer[] {
  const out: Buffer[] = []
  let s = 0
  for (let i = 0; i <= rel.length; i++) {
    if (i === rel.length || rel[i] === 0x2f) {
      out.push(rel.subarray(s, i))
      s = i + 1
    }
  }
  return out
}

const tempName = (): Buffer => Buffer.from(`.razorfs-${process.pid}-${crypto.randomBytes(6).toString('hex')}.tmp`)

/** Copy an image entry (recursively with `recursive`) to the host; see the file comment. */
export function* extract(
  img: Image,
  src: ExtractSource,
  dst: ExtractTarget,
  opts: CopyOptions = {},
): Generator<CopyEvent, void> {
  const clobber = opts.clobber ?? 'error'
  const preserve = opts.preserve ?? false
  const xattrs = opts.xattrs ?? preserve
  const devices = opts.devices ?? preserve
  const umask = opts.umask ?? processUmask()
  const root = isRoot()
  const budget = new ByteBudget(opts.limit)
  const xa = xattrs ? hostXattrs() : null
  const warned = new Set<string>()
  const warnOnce = (key: string, p: CopyProblem) => {
    if (warned.has(key)) return
    warned.add(key)
    opts.onWarning?.(p)
  }
  const report = (e: EntryFailure) => {
    const p: CopyProblem = e.problem()
    if (!opts.onError) throw Object.assign(new Error(`${p.path}: ${p.message}`), {code: p.code, problem: p})
    opts.onError(p)
  }
  if (xattrs && !xa)
    warnOnce('xattr', {
      code: 'XATTR_UNAVAILABLE',
      path: dst.label.toString(),
      message: 'extended attributes not copied: the optional fs-xattr package is not installed',
    })

  const rootFd = fs.openSync(dst.dir, O_RDONLY | O_DIRECTORY)
  const times = new HostTimes(rootFd, (rel, code) =>
    warnOnce(`times:${code}`, {
      code,
      path: join(Buffer.from(dst.dir), rel).toString(),
      message: `times not set: ${errnoText(code)}`,
    }),
  )
  if (preserve && !times.exact)
    warnOnce('times-exact', {
      code: 'TIMES_INEXACT',
      path: dst.label.toString(),
      message: 'times are set to the microsecond only, and times before 1970 not at all: perl is not available',
    })
  const stack: Frame[] = []
  const visitedDirs = new Set<number>()
  const firstCopies = new Map<number, FirstCopy>()
  /** The file being written: removed if the copy stops before it is complete. */
  let partial: {dirFd: number; name: Buffer} | undefined

  /** The entry-level failure `e` stands for; anything that must stop the whole copy is rethrown. */
  const classify = (e: unknown, src: Buffer, dst: Buffer): EntryFailure => {
    if (e instanceof EntryFailure) return e
    const code = hostCode(e)
    if (code && FATAL_HOST.has(code)) throw e
    if (code) return new EntryFailure(code, dst, `cannot write '${dst}': ${errnoText(code, (e as Error).message)}`)
    if (isRazorError(e) && ENTRY_LEVEL.has(e.code))
      return new EntryFailure(e.code, src, `cannot read '${src}': ${e.message}`)
    throw e
  }

  const owner = (fd: number | undefined, path: Buffer, st: Stat): boolean => {
    if (!preserve) return false
    try {
      if (fd !== undefined) fs.fchownSync(fd, st.uid, st.gid)
      else fs.lchownSync(path, st.uid, st.gid)
      return true
    } catch (e) {
      const code = hostCode(e) ?? 'EPERM'
      warnOnce(`owner:${code}`, {
        code,
        path: path.toString(),
        message: `owner ${st.uid}:${st.gid} not kept (${errnoText(code)}); only root can give files away — the copies belong to you`,
      })
      return false
    }
  }

  const modeOf = (st: Stat, chowned: boolean): number => {
    if (!preserve) return plainMode(st.mode, umask)
    return st.mode & (root && chowned ? 0o7777 : 0o1777)
  }

  const copyXattrs = (fd: number, label: Buffer, ino: number): void => {
    if (!xa) return
    for (const name of img.listXattrs(ino)) {
      try {
        xa.setAttributeSync(`/proc/self/fd/${fd}`, name, img.getXattr(ino, name))
      } catch (e) {
        const code = hostCode(e) ?? (isRazorError(e) ? e.code : 'EIO')
        if (isRazorError(e) && (e.code === 'ECHECKSUM' || e.code === 'ECORRUPT'))
          throw new EntryFailure(e.code, label, e.message)
        warnOnce(`xattr:${code}:${name.split('.')[0]}`, {
          code,
          path: label.toString(),
          message: `extended attribute ${name} not kept (${errnoText(code)})`,
        })
      }
    }
  }

  /** Make `name` in dirFd with `make`, honouring clobber; returns the name actually created (a temporary one when replacing). */
  const place = (
    dirFd: number,
    name: Buffer,
    label: Buffer,
    srcLabel: Buffer,
    isDirSource: boolean,
    make: (n: Buffer) => void,
  ): Buffer | undefined => {
    try {
      make(name)
      return name
    } catch (e) {
      if (hostCode(e) !== 'EEXIST') throw e
    }
    const st = fs.lstatSync(at(dirFd, name))
    if (st.isDirectory())
      throw new EntryFailure('EISDIR', label, `cannot overwrite directory '${label}' with non-directory '${srcLabel}'`)
    if (isDirSource)
      throw new EntryFailure('ENOTDIR', label, `cannot overwrite non-directory '${label}' with directory '${srcLabel}'`)
    if (clobber === 'skip') return undefined
    if (clobber === 'error')
      throw new EntryFailure(
        'EEXIST',
        label,
        `'${label}' exists; not overwritten (use -f to replace it or -n to skip it)`,
      )
    const tmp = tempName()
    make(tmp)
    return tmp
  }

  /** Rename a temporary name over the final one (replace). */
  const settle = (dirFd: number, made: Buffer, name: Buffer): void => {
    if (made === name) return
    try {
      fs.renameSync(at(dirFd, made), at(dirFd, name))
    } catch (e) {
      fs.rmSync(at(dirFd, made), {force: true})
      throw e
    }
  }

  const openDirFrame = (
    parentFd: number,
    name: Buffer,
    label: Buffer,
    srcLabel: Buffer,
    existing: boolean,
  ): {fd: number; created: boolean} => {
    let created = false
    if (!existing) {
      try {
        fs.mkdirSync(at(parentFd, name), {mode: 0o700})
        created = true
      } catch (e) {
        if (hostCode(e) !== 'EEXIST') throw e
        const st = fs.lstatSync(at(parentFd, name))
        if (st.isSymbolicLink() && clobber === 'replace') {
          fs.unlinkSync(at(parentFd, name))
          fs.mkdirSync(at(parentFd, name), {mode: 0o700})
          created = true
        } else if (st.isSymbolicLink()) {
          throw new EntryFailure(
            'ELOOP',
            label,
            `'${label}' is a symbolic link on the host; not following it (use -f to replace the link)`,
          )
        } else if (!st.isDirectory()) {
          throw new EntryFailure(
            'ENOTDIR',
            label,
            `cannot overwrite non-directory '${label}' with directory '${srcLabel}'`,
          )
        }
      }
    }
    let fd: number
    try {
      fd = fs.openSync(existing ? Buffer.from(dst.dir) : at(parentFd, name), existing ? O_RDONLY | O_DIRECTORY : O_DIR)
    } catch (e) {
      const code = hostCode(e)
      if (code === 'ELOOP' || code === 'ENOTDIR')
        throw new EntryFailure(
          'ELOOP',
          label,
          `'${label}' was replaced by a symbolic link or file while copying; not following it`,
        )
      throw e
    }
    return {fd, created}
  }

  /** Copy one entry; a directory is returned as a frame for the walk to descend into. */
  function* entry(
    parentFd: number,
    parentRel: Buffer,
    name: Buffer,
    ino: number,
    srcPath: Buffer,
    srcLabel: Buffer,
    dstLabel: Buffer,
    top: boolean,
  ): Generator<CopyEvent, Frame | undefined> {
    const rel = top && dst.into ? Buffer.alloc(0) : join(parentRel, name)
    let st: Stat
    try {
      st = img.stat(ino)
      if (st.type === 'symlink' && (opts.dereference || (top && opts.followTop))) {
        ino = img.resolve(srcPath, {follow: true})
        st = img.stat(ino)
      }
    } catch (e) {
      if (isRazorError(e) && (e.code === 'ENOENT' || e.code === 'ELOOP'))
        throw new EntryFailure(e.code, srcLabel, `cannot stat '${srcLabel}': ${errnoText(e.code)}`)
      throw e
    }
    if (st.type === 'dir') {
      if (!opts.recursive)
        throw new EntryFailure('EISDIR', srcLabel, `-r not specified; omitting directory '${srcLabel}'`)
      if (visitedDirs.has(ino))
        throw new EntryFailure(
          'ELOOP',
          srcLabel,
          `directory inode ${ino} appears more than once in the image (a cycle or a hard-linked directory: a damaged or hostile image); skipped`,
        )
      if (stack.length >= MAX_DEPTH)
        throw new EntryFailure('ELOOP', srcLabel, `directories nested more than ${MAX_DEPTH} deep; not copied`)
      const {fd, created} = openDirFrame(parentFd, name, dstLabel, srcLabel, Boolean(top && dst.into))
      let entries: DirEntry[]
      try {
        entries = img.readdir(ino).sort((a, b) => Buffer.compare(a.name, b.name))
      } catch (e) {
        fs.closeSync(fd)
        throw e
      }
      visitedDirs.add(ino)
      return {fd, ino, stat: st, srcPath, src: srcLabel, dst: dstLabel, rel, entries, i: 0, created}
    }
    const linked = opts.hardlinks && st.nlink > 1 ? firstCopies.get(ino) : undefined
    if (linked) {
      yield* hardlink(parentFd, name, linked, srcLabel, dstLabel, st)
      return undefined
    }
    if (st.type === 'file') yield* file(parentFd, name, rel, ino, st, srcLabel, dstLabel)
    else if (st.type === 'symlink') yield* symlink(parentFd, name, rel, ino, st, srcLabel, dstLabel)
    else yield* special(parentFd, name, rel, ino, st, srcLabel, dstLabel)
    return undefined
  }

  const remember = (parentFd: number, name: Buffer, rel: Buffer, ino: number, st: Stat): void => {
    if (!opts.hardlinks || st.nlink < 2) return
    const h = fs.lstatSync(at(parentFd, name), {bigint: false})
    firstCopies.set(ino, {rel, dev: h.dev, ino: h.ino})
  }

  function* hardlink(
    parentFd: number,
    name: Buffer,
    first: FirstCopy,
    srcLabel: Buffer,
    dstLabel: Buffer,
    st: Stat,
  ): Generator<CopyEvent, void> {
    const parts = splitRel(first.rel)
    const last = parts.pop()!
    const opened: number[] = []
    try {
      let fd = rootFd
      for (const p of parts) {
        fd = fs.openSync(at(fd, p), O_DIR)
        opened.push(fd)
      }
      const made = place(parentFd, name, dstLabel, srcLabel, false, (n) => fs.linkSync(at(fd, last), at(parentFd, n)))
      if (!made) {
        yield {kind: 'skipped', src: srcLabel, dst: dstLabel}
        return
      }
      const got = fs.lstatSync(at(parentFd, made))
      if (got.ino !== first.ino || got.dev !== first.dev) {
        fs.unlinkSync(at(parentFd, made))
        throw new EntryFailure(
          'ELOOP',
          dstLabel,
          `the first copy of this hard link was replaced on the host while copying; not linked`,
        )
      }
      settle(parentFd, made, name)
    } finally {
      for (const fd of opened) fs.closeSync(fd)
    }
    yield {kind: 'entry', type: st.type, src: srcLabel, dst: dstLabel, bytes: 0, link: true}
  }

  function* file(
    parentFd: number,
    name: Buffer,
    rel: Buffer,
    ino: number,
    st: Stat,
    srcLabel: Buffer,
    dstLabel: Buffer,
  ): Generator<CopyEvent, void> {
    let fd: number | undefined
    const made = place(parentFd, name, dstLabel, srcLabel, false, (n) => {
      fd = fs.openSync(at(parentFd, n), O_NEWFILE, 0o600)
    })
    if (!made || fd === undefined) {
      yield {kind: 'skipped', src: srcLabel, dst: dstLabel}
      return
    }
    partial = {dirFd: parentFd, name: made}
    try {
      let sinceProgress = 0
      for (const r of mappedRanges(img, ino, st.size)) {
        const data = img.read(ino, r.offset, r.length)
        if (isZero(data)) continue
        budget.take(data.length, srcLabel.toString())
        let done = 0
        while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, r.offset + done)
        sinceProgress += data.length
        if (sinceProgress >= PROGRESS_BYTES) {
          yield {kind: 'progress', bytes: sinceProgress, src: srcLabel}
          sinceProgress = 0
        }
      }
      fs.ftruncateSync(fd, st.size)
      const chowned = owner(fd, dstLabel, st)
      fs.fchmodSync(fd, modeOf(st, chowned))
      copyXattrs(fd, dstLabel, ino)
      fs.closeSync(fd)
      fd = undefined
      settle(parentFd, made, name)
      partial = undefined
    } finally {
      if (fd !== undefined) fs.closeSync(fd)
      if (partial) {
        fs.rmSync(at(partial.dirFd, partial.name), {force: true})
        partial = undefined
      }
    }
    if (preserve) times.set(rel, st.atime, st.mtime)
    remember(parentFd, name, rel, ino, st)
    yield {kind: 'entry', type: 'file', src: srcLabel, dst: dstLabel, bytes: st.size}
  }

  function* symlink(
    parentFd: number,
    name: Buffer,
    rel: Buffer,
    ino: number,
    st: Stat,
    srcLabel: Buffer,
    dstLabel: Buffer,
  ): Generator<CopyEvent, void> {
    const target = img.readlink(ino)
    if (target.length === 0 || target.includes(0))
      throw new EntryFailure('EINVAL', srcLabel, `symbolic link '${srcLabel}' has an invalid target; skipped`)
    const made = place(parentFd, name, dstLabel, srcLabel, false, (n) => fs.symlinkSync(target, at(parentFd, n)))
    if (!made) {
      yield {kind: 'skipped', src: srcLabel, dst: dstLabel}
      return
    }
    settle(parentFd, made, name)
    if (preserve && root) owner(undefined, at(parentFd, name), st)
    if (preserve) times.set(rel, st.atime, st.mtime)
    remember(parentFd, name, rel, ino, st)
    yield {kind: 'entry', type: 'symlink', src: srcLabel, dst: dstLabel, bytes: 0}
  }

  function* special(
    parentFd: number,
    name: Buffer,
    rel: Buffer,
    ino: number,
    st: Stat,
    srcLabel: Buffer,
    dstLabel: Buffer,
  ): Generator<CopyEvent, void> {
    const isDevice = st.type === 'chardev' || st.type === 'blockdev'
    if (isDevice && !devices) {
      opts.onWarning?.({
        code: 'DEVICE_SKIPPED',
        path: srcLabel.toString(),
        message: 'device node not copied (device nodes are copied only with -p or -a)',
      })
      return
    }
    const perm = preserve ? st.mode & (root ? 0o7777 : 0o1777) : plainMode(st.mode, umask)
    let made: Buffer | undefined
    try {
      made = place(parentFd, name, dstLabel, srcLabel, false, (n) =>
        mknodAt(parentFd, n, (st.mode & 0o170000) | perm, st.rdev),
      )
    } catch (e) {
      const code = hostCode(e)
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e
      // the host does not let us (device nodes need root; some filesystems refuse sockets): a warning, as for owners
      opts.onWarning?.({
        code,
        path: dstLabel.toString(),
        message: `${st.type === 'socket' ? 'socket' : st.type === 'fifo' ? 'fifo' : 'device node'} not created (${errnoText(code)})`,
      })
      return
    }
    if (!made) {
      yield {kind: 'skipped', src: srcLabel, dst: dstLabel}
      return
    }
    settle(parentFd, made, name)
    if (preserve && root) owner(undefined, at(parentFd, name), st)
    if (preserve) times.set(rel, st.atime, st.mtime)
    remember(parentFd, name, rel, ino, st)
    yield {kind: 'entry', type: st.type, src: srcLabel, dst: dstLabel, bytes: 0}
  }

  const finishDir = (f: Frame): void => {
    if (f.created || preserve) {
      const chowned = owner(f.fd, f.dst, f.stat)
      fs.fchmodSync(f.fd, modeOf(f.stat, chowned))
      copyXattrs(f.fd, f.dst, f.ino)
    }
    if (preserve) times.set(f.rel, f.stat.atime, f.stat.mtime)
  }

  /** Run one entry, turning its failure into a reported problem (fatal ones propagate). */
  function* guarded(
    parentFd: number,
    parentRel: Buffer,
    name: Buffer,
    ino: number,
    srcPath: Buffer,
    srcLabel: Buffer,
    dstLabel: Buffer,
    top: boolean,
  ): Generator<CopyEvent, Frame | undefined> {
    try {
      return yield* entry(parentFd, parentRel, name, ino, srcPath, srcLabel, dstLabel, top)
    } catch (e) {
      report(classify(e, srcLabel, dstLabel))
      return undefined
    }
  }

  try {
    const top = yield* guarded(rootFd, Buffer.alloc(0), dst.name, src.ino, src.path, src.label, dst.label, true)
    if (top) stack.push(top)
    while (stack.length) {
      const f = stack[stack.length - 1]!
      if (f.i >= f.entries.length) {
        stack.pop()
        try {
          finishDir(f)
        } catch (e) {
          report(classify(e, f.src, f.dst))
        } finally {
          if (f.fd !== rootFd) fs.closeSync(f.fd)
        }
        yield {kind: 'entry', type: 'dir', src: f.src, dst: f.dst, bytes: 0}
        continue
      }
      const e = f.entries[f.i++]!
      const srcLabel = join(f.src, e.name)
      const why = unsafeName(e.name)
      if (why) {
        report(
          new EntryFailure(
            'EUNSAFE',
            srcLabel,
            `refusing ${why} in directory '${f.src}' (a damaged or hostile image); skipped`,
          ),
        )
        continue
      }
      const child = yield* guarded(
        f.fd,
        f.rel,
        e.name,
        e.ino,
        join(f.srcPath, e.name),
        srcLabel,
        join(f.dst, e.name),
        false,
      )
      if (child) stack.push(child)
    }
    times.flush()
  } finally {
    try {
      times.flush() // the times of what was completed before a stop
    } catch {
      // already stopping for another reason
    }
    for (const f of stack) if (f.fd !== rootFd) fs.closeSync(f.fd)
    fs.closeSync(rootFd)
  }
}

const ZERO = Buffer.alloc(1024 * 1024)
function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i += ZERO.length) {
    const part = b.subarray(i, Math.min(b.length, i + ZERO.length))
    if (!part.equals(ZERO.subarray(0, part.length))) return false
  }
  return true
}
