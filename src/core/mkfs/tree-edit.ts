/**
 * Editing an image tree by relative paths, as an overlay does (a tar or a
 * manifest over what is already there): resolve, create missing parents,
 * replace entries, and put directory times back at the end — adding an
 * entry changes its directory's mtime, which must end up as the input says.
 */
import {fail, isRazorError} from '../errors.js'
import type {Image} from '../image/image.js'
import type {FileType, InodeAttrs, Timespec} from '../types.js'
import type {AttrPolicy} from './attrs.js'

const ROOT = 1
const SLASH = 0x2f

export function splitRel(rel: Buffer): Buffer[] {
  const out: Buffer[] = []
  let s = 0
  for (let i = 0; i <= rel.length; i++) {
    if (i === rel.length || rel[i] === SLASH) {
      if (i > s) out.push(rel.subarray(s, i))
      s = i + 1
    }
  }
  return out
}

export class TreeEditor {
  /** Directory inode by relative path (latin1), for paths resolved or created. */
  private readonly dirs = new Map<string, number>([['', ROOT]])
  /** Directory times before this editor first changed the directory. */
  private readonly before = new Map<number, {mtime: Timespec; ctime: Timespec}>()
  /** Attributes the input gives a directory: applied last. */
  private readonly explicit = new Map<number, InodeAttrs>()
  /** Directories created because something below them was named. */
  implicitDirs = 0

  constructor(
    private readonly img: Image,
    private readonly policy: AttrPolicy,
    private readonly now: () => Timespec,
  ) {}

  /** Remember a directory's times before it changes (once). */
  private touch(dir: number): void {
    if (this.before.has(dir)) return
    const st = this.img.stat(dir)
    this.before.set(dir, {mtime: st.mtime, ctime: st.ctime})
  }

  /** The inode at `rel` (no symlinks followed), or undefined. */
  resolve(rel: Buffer): number | undefined {
    const key = rel.toString('latin1')
    const hit = this.dirs.get(key)
    if (hit !== undefined) return hit
    const parts = splitRel(rel)
    let cur = ROOT
    for (let i = 0; i < parts.length; i++) {
      const next = this.img.lookup(cur, parts[i]!)
      if (next === undefined) return undefined
      if (i < parts.length - 1 && this.img.stat(next).type !== 'dir') return undefined
      cur = next
    }
    return cur
  }

  /**
   * The directory that is to hold `rel` and the entry's name: missing
   * parents are created (root-owned, mode 0755, at the build time); a
   * parent that exists but is not a directory is an error.
   */
  parent(rel: Buffer): {dir: number; name: Buffer} {
    const parts = splitRel(rel)
    if (parts.length === 0) throw fail('EINVAL', 'the root has no parent')
    const name = parts.pop()!
    let cur = ROOT
    let sofar = ''
    for (const part of parts) {
      sofar = sofar ? `${sofar}/${part.toString('latin1')}` : part.toString('latin1')
      const known = this.dirs.get(sofar)
      if (known !== undefined) {
        cur = known
        continue
      }
      let next = this.img.lookup(cur, part)
      if (next === undefined) {
        this.touch(cur)
        next = this.img.mkdir(cur, part, this.policy.implicit(0o755, this.now()))
        this.implicitDirs++
      } else if (this.img.stat(next).type !== 'dir') {
        throw fail('ENOTDIR', `${Buffer.from(sofar, 'latin1').toString('utf8')}: not a directory`, {path: sofar})
      }
      this.dirs.set(sofar, next)
      cur = next
    }
    return {dir: cur, name}
  }

  /** Remove `name` from `dir`, a whole subtree for a directory. */
  remove(dir: number, name: Buffer): void {
    const ino = this.img.lookup(dir, name)
    if (ino === undefined) return
    this.touch(dir)
    if (this.img.stat(ino).type === 'dir') {
      for (const e of this.img.readdir(ino)) this.remove(ino, e.name)
      this.img.rmdir(dir, name)
      this.explicit.delete(ino)
      this.before.delete(ino)
      // cached paths below it are gone
      this.dirs.clear()
      this.dirs.set('', ROOT)
    } else this.img.unlink(dir, name)
  }

  /** About to add an entry to `dir`. */
  adding(dir: number): void {
    this.touch(dir)
  }

  /** A directory now at `rel` (cache it). */
  noteDir(rel: Buffer, ino: number): void {
    this.dirs.set(rel.toString('latin1'), ino)
  }

  /** The input's attributes for a directory, applied by finish(). */
  setDirAttrs(ino: number, attrs: InodeAttrs): void {
    this.explicit.set(ino, {...this.explicit.get(ino), ...attrs})
  }

  /** Directory times: the input's where given, else what they were before the edits. */
  finish(): void {
    for (const [ino, t] of this.before) {
      if (this.explicit.has(ino)) continue
      try {
        this.img.setattr(ino, {mtime: t.mtime, ctime: t.ctime})
      } catch (e) {
        if (!isRazorError(e, 'ENOENT')) throw e
      }
    }
    for (const [ino, attrs] of this.explicit) this.img.setattr(ino, attrs)
    this.before.clear()
    this.explicit.clear()
  }
}

/** st_mode type bits of a file type. */
export const TYPE_BITS: Record<FileType, number> = {
  file: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  chardev: 0o020000,
  blockdev: 0o060000,
  fifo: 0o010000,
  socket: 0o140000,
}

/** Linux makedev (glibc's 64-bit encoding), as populate stores host st_rdev. */
export function makedev(major: number, minor: number): number {
  const M = BigInt(major)
  const m = BigInt(minor)
  return Number(((M & 0xfffn) << 8n) | ((M & ~0xfffn) << 32n) | (m & 0xffn) | ((m & ~0xffn) << 12n))
}

export function splitDev(rdev: number): {major: number; minor: number} {
  const dev = BigInt(rdev)
  const major = ((dev & 0x00000000000fff00n) >> 8n) | ((dev & 0xfffff00000000000n) >> 32n)
  const minor = (dev & 0x00000000000000ffn) | ((dev & 0x00000ffffff00000n) >> 12n)
  return {major: Number(major), minor: Number(minor)}
}
