/**
 * Copy a host directory tree into an image (mkfs --root): every file type,
 * modes, owners, nanosecond times, symlinks as links, hard links (one inode
 * per host dev+ino), holes (all-zero blocks are not stored) and xattrs.
 * Entries are visited in byte order of their names, so the same tree always
 * gives the same image.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fail, isRazorError} from './errors.js'
import {hostXattrs} from './host-xattrs.js'
import type {Image} from './image.js'
import {S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, type FileType, type InodeAttrs, type Timespec} from './types.js'
import {fileTypeOfMode} from './inode-table.js'

export interface PopulateProgress {
  files: number
  bytes: number
  path: string
}
export interface PopulateWarning {
  code: string
  path: string
  message: string
}
export interface PopulateOptions {
  onProgress?: (p: PopulateProgress) => void
  onWarning?: (w: PopulateWarning) => void
  /** Directory of the image the tree's contents go into (default: the root). Its own attributes become the tree root's. */
  into?: number
  /**
   * Leave out an entry (and, for a directory, everything below it). `rel` is
   * the entry's path relative to the tree root, '/'-separated, as bytes.
   */
  exclude?: (rel: Buffer, type: FileType) => boolean
  /**
   * Rewrite an entry's attributes before they are stored: owner maps,
   * --all-root, timestamp clamping. `rel` is as for exclude ('' for the root).
   */
  mapAttrs?: (attrs: InodeAttrs, rel: Buffer, type: FileType) => InodeAttrs
  /**
   * Copy a regular file's content (at host path `src`, `size` bytes by stat)
   * into the new, empty inode `ino` instead of populate's own copy (mkfs plans
   * it on worker threads); returns the bytes copied. It must not change the
   * inode's times. A host error it throws makes the file stay empty.
   */
  copyData?: (src: Buffer, ino: number, size: number) => number
}
export interface PopulateResult {
  files: number
  directories: number
  symlinks: number
  hardlinks: number
  specials: number
  bytesIn: number
  warnings: number
}

const CHUNK = 1024 * 1024
const ROOT = 1

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

function attrsOf(st: fs.BigIntStats): InodeAttrs {
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

const join = (dir: Buffer, name: Buffer): Buffer => Buffer.concat([dir, Buffer.from('/'), name])

/** Copy the tree at `hostDir` into the image's root directory, preserving types, modes, owners, times, links, holes and xattrs. */
export function populate(img: Image, hostDir: string, opts: PopulateOptions = {}): PopulateResult {
  const res: PopulateResult = {files: 0, directories: 0, symlinks: 0, hardlinks: 0, specials: 0, bytesIn: 0, warnings: 0}
  const warn = (code: string, path: Buffer, message: string) => {
    res.warnings++
    opts.onWarning?.({code, path: path.toString('utf8'), message})
  }
  let rootSt: fs.BigIntStats
  try {
    rootSt = fs.statSync(hostDir, {bigint: true})
  } catch (e) {
    throw fail('ENOENT', `${hostDir}: cannot read the source tree (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {path: hostDir})
  }
  if ((Number(rootSt.mode) & S_IFMT) !== S_IFDIR) throw fail('ENOTDIR', `${hostDir}: the source tree is not a directory`, {path: hostDir})

  const into = opts.into ?? ROOT
  const xa = hostXattrs()
  let xattrWarned = false
  const copyXattrs = (src: Buffer, ino: number): boolean => {
    if (!xa) {
      if (!xattrWarned) warn('XATTR_UNAVAILABLE', src, 'extended attributes not copied: the optional fs-xattr package is not installed')
      xattrWarned = true
      return false
    }
    const at = stringPath(src, scratch)
    try {
      let names: string[]
      try {
        names = xa.listAttributesSync(at.path)
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') warn('XATTR_UNREADABLE', src, `cannot list xattrs (${(e as Error).message})`)
        return false
      }
      for (const name of names.sort()) {
        try {
          img.setXattr(ino, name, xa.getAttributeSync(at.path, name))
        } catch (e) {
          if (isRazorError(e) && e.code === 'ENOSPC') throw e
          warn('XATTR_SKIPPED', src, `xattr ${name} not copied: ${(e as Error).message}`)
        }
      }
      return names.length > 0
    } finally {
      at.close()
    }
  }

  let scratchDir: string | undefined
  const scratch = () => (scratchDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'razorfs-xattr-')))
  const hardlinks = new Map<string, number>()
  const readBuffer = Buffer.allocUnsafe(CHUNK)
  const dirTimes: Array<{ino: number; attrs: InodeAttrs}> = []

  /** Copy a file's bytes; returns whether anything was written. */
  const copyFile = (src: Buffer, ino: number, size: number): boolean => {
    const fd = fs.openSync(src, 'r')
    try {
      const buf = readBuffer
      let off = 0
      for (;;) {
        let n = 0
        while (n < CHUNK) {
          const r = fs.readSync(fd, buf, n, CHUNK - n, off + n)
          if (r === 0) break
          n += r
        }
        if (n === 0) break
        const chunk = buf.subarray(0, n)
        if (!isAllZero(chunk)) img.write(ino, off, Buffer.from(chunk))
        off += n
        res.bytesIn += n
        if (n < CHUNK) break
      }
      if (off > 0 && off > img.stat(ino).size) img.truncate(ino, off)
      if (off !== size) warn('SIZE_CHANGED', src, `size changed while copying (${size} → ${off})`)
      return off > 0
    } finally {
      fs.closeSync(fd)
    }
  }

  const relOf = (rel: Buffer, name: Buffer) => (rel.length ? Buffer.concat([rel, Buffer.from('/'), name]) : name)
  const attrsFor = (st: fs.BigIntStats, rel: Buffer): InodeAttrs => {
    const a = attrsOf(st)
    return opts.mapAttrs ? opts.mapAttrs(a, rel, fileTypeOfMode(a.mode!)!) : a
  }
  const visit = (hostPath: Buffer, dirIno: number, rel: Buffer) => {
    let names: Buffer[]
    try {
      names = fs.readdirSync(hostPath, {encoding: 'buffer'})
    } catch (e) {
      warn('UNREADABLE', hostPath, `directory not readable (${(e as NodeJS.ErrnoException).code}); its contents are skipped`)
      return
    }
    names.sort(Buffer.compare)
    for (const name of names) {
      const src = join(hostPath, name)
      let st: fs.BigIntStats
      try {
        st = fs.lstatSync(src, {bigint: true})
      } catch (e) {
        warn('UNREADABLE', src, `cannot stat (${(e as NodeJS.ErrnoException).code}); skipped`)
        continue
      }
      const entryRel = relOf(rel, name)
      const ftype = fileTypeOfMode(Number(st.mode))
      if (!ftype || opts.exclude?.(entryRel, ftype)) continue
      const attrs = attrsFor(st, entryRel)
      const type = Number(st.mode) & S_IFMT
      try {
        if (type === S_IFDIR) {
          const ino = img.mkdir(dirIno, name, attrs)
          res.directories++
          copyXattrs(src, ino)
          visit(src, ino, entryRel)
          dirTimes.push({ino, attrs})
          continue
        }
        const key = `${st.dev}:${st.ino}`
        const first = st.nlink > 1n ? hardlinks.get(key) : undefined
        if (first !== undefined) {
          img.link(first, dirIno, name)
          res.hardlinks++
          continue
        }
        let ino: number
        let changed = false // whether data or xattrs moved mtime/ctime away from the source's
        if (type === S_IFLNK) {
          ino = img.symlink(dirIno, name, fs.readlinkSync(src, {encoding: 'buffer'}), attrs)
          res.symlinks++
        } else if (type === S_IFREG) {
          ino = img.create(dirIno, name, attrs)
          try {
            if (st.size > 0n && opts.copyData) {
              const n = opts.copyData(src, ino, Number(st.size))
              res.bytesIn += n
              if (n !== Number(st.size)) warn('SIZE_CHANGED', src, `size changed while copying (${st.size} → ${n})`)
            } else if (st.size > 0n) changed = copyFile(src, ino, Number(st.size))
          } catch (e) {
            if (isRazorError(e)) throw e
            warn('UNREADABLE', src, `cannot read (${(e as NodeJS.ErrnoException).code}); stored empty`)
          }
          res.files++
        } else {
          ino = img.create(dirIno, name, attrs)
          res.specials++
        }
        if (type !== S_IFLNK && copyXattrs(src, ino)) changed = true
        if (changed || type === S_IFLNK) img.setattr(ino, attrs)
        if (st.nlink > 1n) hardlinks.set(key, ino)
        opts.onProgress?.({files: res.files, bytes: res.bytesIn, path: src.toString('utf8')})
      } catch (e) {
        if (isRazorError(e) && (e.code === 'ENAMETOOLONG' || e.code === 'EINVAL')) {
          warn('SKIPPED', src, `${e.message}; skipped`)
          continue
        }
        throw e
      }
    }
  }

  try {
    copyXattrs(Buffer.from(hostDir), into)
    visit(Buffer.from(hostDir), into, Buffer.alloc(0))
  } finally {
    if (scratchDir) fs.rmSync(scratchDir, {recursive: true, force: true})
  }
  // directory times last: adding entries changed them
  for (const {ino, attrs} of dirTimes) img.setattr(ino, attrs)
  img.setattr(into, attrsFor(rootSt, Buffer.alloc(0)))
  return res
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
