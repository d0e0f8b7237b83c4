/**
 * The entry copier behind populate (mkfs --root) and copyIn (cp into an
 * image): one class, over ~400 lines because entry() is one decision over
 * every file type, hard links, clobbering and the two ways of reporting
 * failures (mkfs's warnings, cp's per-entry errors).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fail, isRazorError} from '../errors.js'
import {hostXattrs} from './host-xattrs.js'
import type {Image} from '../image/image.js'
import {S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, type InodeAttrs, type Timespec} from '../types.js'
import {fileTypeOfMode} from '../fs/inode-table.js'
import {childRel, inodeKey, joinPath, readNames} from './tree-walk.js'
import {
  ByteBudget,
  EntryFailure,
  errnoText,
  PROGRESS_BYTES,
  type Clobber,
  type CopyEvent,
  type CopyProblem,
} from './copy.js'
import type {PopulateOptions, PopulateResult} from './populate.js'

const CHUNK = 1024 * 1024

function ts(ns: bigint): Timespec {
  const sec = ns / 1_000_000_000n
  let nsec = ns % 1_000_000_000n
  let s = sec
  if (nsec < 0n) {
    nsec += 1_000_000_000n
    s -= 1n
  }
  return {sec: Number(s), nsec: Number(nsec)}
}

export function attrsOf(st: fs.BigIntStats): InodeAttrs {
  return {
    mode: Number(st.mode),
    uid: Number(st.uid),
    gid: Number(st.gid),
    rdev: Number(st.rdev),
    atime: ts(st.atimeNs),
    mtime: ts(st.mtimeNs),
    ctime: ts(st.ctimeNs),
    crtime: ts(st.birthtimeNs > 0n ? st.birthtimeNs : st.mtimeNs),
  }
}

export interface EngineOptions extends PopulateOptions {
  /** Copy xattrs (default true). */
  xattrs?: boolean
  /** One inode per host dev+ino (default true). */
  hardlinks?: boolean
  /** stat instead of lstat: follow symlinks (cp -L). */
  follow?: boolean
  /** An existing name: refuse, skip or replace (cp). Unset: the core's EEXIST is thrown, as mkfs expects. */
  clobber?: Clobber
  /** Per-entry failures are reported here and the entry left out (cp). Unset: mkfs's warnings. */
  onError?: (p: CopyProblem) => void
  limit?: number
  /** Attributes come from the source (otherwise mapAttrs decides and existing directories keep theirs). */
  preserve?: boolean
}

const hostCode = (e: unknown): string | undefined => {
  const c = (e as NodeJS.ErrnoException)?.code
  return typeof c === 'string' && typeof (e as NodeJS.ErrnoException).errno === 'number' ? c : undefined
}

/** Host errors that stop a copy: nothing more can be read. */
const FATAL_HOST = new Set(['EIO', 'EMFILE', 'ENFILE'])

/** The walker behind populate and copyIn. */
export class Engine {
  readonly res: PopulateResult = {
    files: 0,
    directories: 0,
    symlinks: 0,
    hardlinks: 0,
    specials: 0,
    bytesIn: 0,
    warnings: 0,
  }
  private readonly xa = hostXattrs()
  private xattrWarned = false
  private scratchDir: string | undefined
  private readonly hardlinks = new Map<string, number>()
  private readonly readBuffer = Buffer.allocUnsafe(CHUNK)
  private readonly dirTimes: Array<{ino: number; attrs: InodeAttrs}> = []
  /** dev:ino of the directories being visited (cycles through followed symlinks). */
  private readonly ancestors = new Set<string>()
  private readonly budget: ByteBudget

  constructor(
    private readonly img: Image,
    private readonly opts: EngineOptions,
  ) {
    this.budget = new ByteBudget(opts.limit)
  }

  private warn(code: string, path: Buffer, message: string): void {
    this.res.warnings++
    this.opts.onWarning?.({code, path: path.toString('utf8'), message})
  }

  private scratch = () => (this.scratchDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'razorfs-xattr-')))

  cleanup(): void {
    if (this.scratchDir) fs.rmSync(this.scratchDir, {recursive: true, force: true})
    this.scratchDir = undefined
  }

  /** Directory attributes last: adding entries changed their times. */
  finish(): void {
    for (const {ino, attrs} of this.dirTimes) this.img.setattr(ino, attrs)
    this.dirTimes.length = 0
  }

  copyXattrs(src: Buffer, ino: number, label: Buffer): boolean {
    const {xa, img} = this
    if (this.opts.xattrs === false) return false
    if (!xa) {
      if (!this.xattrWarned)
        this.warn(
          'XATTR_UNAVAILABLE',
          label,
          'extended attributes not copied: the optional fs-xattr package is not installed',
        )
      this.xattrWarned = true
      return false
    }
    const at = stringPath(src, this.scratch)
    try {
      let names: string[]
      try {
        names = xa.listAttributesSync(at.path)
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code !== 'ENOTSUP' && code !== 'EOPNOTSUPP')
          this.warn('XATTR_UNREADABLE', label, `cannot list xattrs (${(e as Error).message})`)
        return false
      }
      for (const name of names.sort()) {
        try {
          img.setXattr(ino, name, xa.getAttributeSync(at.path, name))
        } catch (e) {
          if (isRazorError(e) && e.code === 'ENOSPC') throw e
          this.warn('XATTR_SKIPPED', label, `xattr ${name} not copied: ${(e as Error).message}`)
        }
      }
      return names.length > 0
    } finally {
      at.close()
    }
  }

  /** Copy a file's bytes; returns whether anything was written. */
  private *copyFile(
    src: Buffer,
    ino: number,
    size: number,
    label: Buffer,
    follow: boolean,
  ): Generator<CopyEvent, boolean> {
    const {img} = this
    const fd = fs.openSync(
      src,
      fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (follow ? 0 : fs.constants.O_NOFOLLOW),
    )
    try {
      const buf = this.readBuffer
      let off = 0
      let sinceProgress = 0
      for (;;) {
        let n = 0
        while (n < CHUNK) {
          const r = fs.readSync(fd, buf, n, CHUNK - n, off + n)
          if (r === 0) break
          n += r
        }
        if (n === 0) break
        const chunk = buf.subarray(0, n)
        if (!isAllZero(chunk)) {
          this.budget.take(n, label.toString())
          // no copy needed: the write copies the bytes into its own cluster windows before returning
          img.write(ino, off, chunk)
        }
        off += n
        this.res.bytesIn += n
        sinceProgress += n
        if (sinceProgress >= PROGRESS_BYTES) {
          yield {kind: 'progress', bytes: sinceProgress, src: label}
          sinceProgress = 0
        }
        if (n < CHUNK) break
      }
      if (off > 0 && off > img.stat(ino).size) img.truncate(ino, off)
      if (off !== size) this.warn('SIZE_CHANGED', label, `size changed while copying (${size} → ${off})`)
      return off > 0
    } finally {
      fs.closeSync(fd)
    }
  }

  /** The attributes of a new entry copied from st, made in directory `parent` (when known). */
  attrsFor(st: fs.BigIntStats, rel: Buffer, parent?: number): InodeAttrs {
    const a = attrsOf(st)
    return this.opts.mapAttrs ? this.opts.mapAttrs(a, rel, fileTypeOfMode(a.mode!)!, parent) : a
  }

  private lstat(p: Buffer): fs.BigIntStats {
    return this.opts.follow ? fs.statSync(p, {bigint: true}) : fs.lstatSync(p, {bigint: true})
  }

  *visit(
    hostPath: Buffer,
    dirIno: number,
    rel: Buffer,
    srcLabel: Buffer,
    dstLabel: Buffer,
  ): Generator<CopyEvent, void> {
    let names: Buffer[]
    try {
      names = readNames(hostPath)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (this.opts.onError)
        this.opts.onError({
          code: code ?? 'EIO',
          path: srcLabel.toString(),
          message: `cannot open directory '${srcLabel}': ${errnoText(code ?? 'EIO')}`,
        })
      else this.warn('UNREADABLE', hostPath, `directory not readable (${code}); its contents are skipped`)
      return
    }
    for (const name of names)
      yield* this.entry(
        joinPath(hostPath, name),
        dirIno,
        name,
        childRel(rel, name),
        joinPath(srcLabel, name),
        joinPath(dstLabel, name),
        true,
        false,
      )
  }

  /** Copy the host entry `src` into `dirIno` as `name`. */
  *entry(
    src: Buffer,
    dirIno: number,
    name: Buffer,
    entryRel: Buffer,
    srcLabel: Buffer,
    dstLabel: Buffer,
    recursive: boolean,
    followTop: boolean,
    into = false,
  ): Generator<CopyEvent, void> {
    const {img, opts, res} = this
    let st: fs.BigIntStats
    try {
      st = followTop ? fs.statSync(src, {bigint: true}) : this.lstat(src)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO'
      if (opts.onError)
        opts.onError({code, path: srcLabel.toString(), message: `cannot stat '${srcLabel}': ${errnoText(code)}`})
      else this.warn('UNREADABLE', src, `cannot stat (${code}); skipped`)
      return
    }
    const ftype = fileTypeOfMode(Number(st.mode))
    if (!ftype || opts.exclude?.(entryRel, ftype)) return
    const attrs = this.attrsFor(st, entryRel, dirIno)
    const type = Number(st.mode) & S_IFMT
    let created: number | undefined
    try {
      if (type === S_IFDIR) {
        if (!recursive) throw new EntryFailure('EISDIR', srcLabel, `-r not specified; omitting directory '${srcLabel}'`)
        const key = inodeKey(st)
        if (this.ancestors.has(key))
          throw new EntryFailure(
            'ELOOP',
            srcLabel,
            `'${srcLabel}' is a directory containing itself (through a symbolic link); skipped`,
          )
        let ino: number
        const existing = into ? dirIno : opts.clobber ? img.lookup(dirIno, name) : undefined
        if (existing !== undefined) {
          if (img.stat(existing).type !== 'dir')
            throw new EntryFailure(
              'ENOTDIR',
              dstLabel,
              `cannot overwrite non-directory '${dstLabel}' with directory '${srcLabel}'`,
            )
          ino = existing
        } else {
          ino = img.mkdir(dirIno, name, attrs)
          res.directories++
        }
        if (existing === undefined || opts.preserve) this.copyXattrs(src, ino, srcLabel)
        this.ancestors.add(key)
        try {
          yield* this.visit(src, ino, entryRel, srcLabel, dstLabel)
        } finally {
          this.ancestors.delete(key)
        }
        if (existing === undefined || opts.preserve) this.dirTimes.push({ino, attrs})
        yield {kind: 'entry', type: 'dir', src: srcLabel, dst: dstLabel, bytes: 0}
        return
      }
      // an existing destination (cp): refuse, skip or replace through a temporary name
      let finalName = name
      if (opts.clobber) {
        const existing = img.lookup(dirIno, name)
        if (existing !== undefined) {
          if (img.stat(existing).type === 'dir')
            throw new EntryFailure(
              'EISDIR',
              dstLabel,
              `cannot overwrite directory '${dstLabel}' with non-directory '${srcLabel}'`,
            )
          if (opts.clobber === 'skip') {
            yield {kind: 'skipped', src: srcLabel, dst: dstLabel}
            return
          }
          if (opts.clobber === 'error')
            throw new EntryFailure(
              'EEXIST',
              dstLabel,
              `'${dstLabel}' exists; not overwritten (use -f to replace it or -n to skip it)`,
            )
          finalName = name
          name = Buffer.from(`.razorfs-cp-${process.pid}-${Math.random().toString(36).slice(2)}`)
        }
      }
      const key = inodeKey(st)
      const first = st.nlink > 1n && opts.hardlinks !== false ? this.hardlinks.get(key) : undefined
      if (first !== undefined) {
        img.link(first, dirIno, name)
        if (name !== finalName) img.rename(dirIno, name, dirIno, finalName)
        res.hardlinks++
        yield {kind: 'entry', type: ftype, src: srcLabel, dst: dstLabel, bytes: 0, link: true}
        return
      }
      let ino: number
      let changed = false // whether data or xattrs moved mtime/ctime away from the source's
      let bytes = 0
      if (type === S_IFLNK) {
        ino = created = img.symlink(dirIno, name, fs.readlinkSync(src, {encoding: 'buffer'}), attrs)
        res.symlinks++
      } else if (type === S_IFREG) {
        ino = created = img.create(dirIno, name, attrs)
        try {
          if (st.size > 0n && opts.copyData) {
            // mkfs's planned data path (read ahead, compressed in workers)
            const n = opts.copyData(src, ino, Number(st.size))
            this.res.bytesIn += n
            if (n !== Number(st.size)) this.warn('SIZE_CHANGED', src, `size changed while copying (${st.size} → ${n})`)
          } else if (st.size > 0n)
            changed = yield* this.copyFile(src, ino, Number(st.size), srcLabel, followTop || (opts.follow ?? false))
        } catch (e) {
          const code = hostCode(e)
          if (!code || FATAL_HOST.has(code)) throw e
          if (opts.onError)
            throw new EntryFailure(code, srcLabel, `cannot open '${srcLabel}' for reading: ${errnoText(code)}`)
          this.warn('UNREADABLE', src, `cannot read (${code}); stored empty`)
        }
        bytes = Number(st.size)
        res.files++
      } else {
        ino = created = img.create(dirIno, name, attrs)
        res.specials++
      }
      if (type !== S_IFLNK && this.copyXattrs(src, ino, srcLabel)) changed = true
      if (changed || type === S_IFLNK) img.setattr(ino, attrs)
      if (name !== finalName) img.rename(dirIno, name, dirIno, finalName)
      created = undefined
      if (st.nlink > 1n && opts.hardlinks !== false) this.hardlinks.set(key, ino)
      opts.onProgress?.({files: res.files, bytes: res.bytesIn, path: src.toString('utf8')})
      yield {kind: 'entry', type: ftype, src: srcLabel, dst: dstLabel, bytes}
    } catch (e) {
      if (e instanceof EntryFailure) {
        if (!opts.onError) throw fail('EINVAL', `${e.path}: ${e.message}`)
        opts.onError({code: e.code, path: e.path.toString(), message: e.message})
        return
      }
      if (
        isRazorError(e) &&
        (e.code === 'ENAMETOOLONG' || e.code === 'EINVAL' || e.code === 'EMLINK' || e.code === 'EOVERFLOW')
      ) {
        if (opts.onError)
          opts.onError({code: e.code, path: srcLabel.toString(), message: `cannot create '${dstLabel}': ${e.message}`})
        else this.warn('SKIPPED', src, `${e.message}; skipped`)
        return
      }
      if (opts.onError && !isRazorError(e)) {
        const code = hostCode(e)
        if (code && !FATAL_HOST.has(code)) {
          opts.onError({code, path: srcLabel.toString(), message: `cannot read '${srcLabel}': ${errnoText(code)}`})
          return
        }
      }
      throw e
    } finally {
      if (created !== undefined) {
        // a partly copied entry is not left behind (also when the caller stops the copy in the middle of it)
        try {
          img.unlink(dirIno, name)
        } catch {
          // the original error is the one to report
        }
      }
    }
  }
}

/**
 * fs-xattr takes string paths only. A name that is valid UTF-8 is passed as
 * is; otherwise a symlink with a plain name, in a private temporary
 * directory, points at the raw bytes: getxattr follows it, so any file type
 * is reached without being opened.
 */
function stringPath(src: Buffer, scratch: () => string): {path: string; close: () => void} {
  const s = src.toString('utf8')
  if (Buffer.from(s, 'utf8').equals(src)) return {path: s, close: () => {}}
  const link = path.join(scratch(), 'x')
  fs.symlinkSync(path.isAbsolute(s) ? src : Buffer.concat([Buffer.from(process.cwd() + '/'), src]), link)
  return {path: link, close: () => fs.rmSync(link, {force: true})}
}

const ZERO = Buffer.alloc(CHUNK)
function isAllZero(b: Buffer): boolean {
  return b.equals(ZERO.subarray(0, b.length))
}
