/** Directory listings for `ls`: collecting entries, their JSON form and ls(1)-style text. */
import type {FileType, Image, Stat, Timespec} from '../../core/index.js'
import {isDevice, modeString, splitDevice} from './mode.js'
import {compareNames, displayName, jsonName} from './names.js'
import {columns} from './table.js'
import {colors} from './terminal.js'
import {formatShortTime} from './time.js'

/** One listed name, with its stat when details are needed. */
export interface Listed {
  name: Buffer
  ino: number
  type: FileType
  /** Path inside the image, as bytes. */
  path: Buffer
  stat?: Stat
  target?: Buffer
}

/** `ls --json` entry. `name` is the name (escaped if not UTF-8, then also `nameBase64`). */
export interface LsEntry {
  name: string
  nameBase64?: string
  path: string
  pathBase64?: string
  ino: number
  type: FileType
  mode: number
  modeString: string
  nlink: number
  uid: number
  gid: number
  size: number
  allocated: number
  major?: number
  minor?: number
  mtime: Timespec
  target?: string
  targetBase64?: string
}

export function childPath(dir: Buffer, name: Buffer): Buffer {
  return dir.at(-1) === 0x2f ? Buffer.concat([dir, name]) : Buffer.concat([dir, Buffer.from('/'), name])
}

/** Stat (and readlink) a listed entry in place. */
export function withDetails(img: Image, e: Listed): Listed {
  e.stat ??= img.stat(e.ino)
  if (e.type === 'symlink') e.target ??= img.readlink(e.ino)
  return e
}

/**
 * Entries of directory `dir` (inode), sorted by name bytes. Names starting with '.'
 * are left out unless `all`, which also adds '.' and '..' first.
 */
export function listDirectory(
  img: Image,
  dir: number,
  dirPath: Buffer,
  opts: {all: boolean; details: boolean},
): Listed[] {
  const entries: Listed[] = img
    .readdir(dir)
    .filter((d) => opts.all || d.name[0] !== 0x2e)
    .sort((a, b) => compareNames(a.name, b.name))
    .map((d) => ({name: d.name, ino: d.ino, type: d.type, path: childPath(dirPath, d.name)}))
  if (opts.all) {
    const self = img.stat(dir)
    entries.unshift(
      {name: Buffer.from('.'), ino: dir, type: 'dir', path: dirPath, stat: self},
      {name: Buffer.from('..'), ino: self.parent, type: 'dir', path: childPath(dirPath, Buffer.from('..'))},
    )
  }
  if (opts.details) for (const e of entries) withDetails(img, e)
  return entries
}

export function lsEntry(e: Listed): LsEntry {
  const st = e.stat as Stat
  const entry: LsEntry = {
    ...(jsonName(e.name) as {name: string; nameBase64?: string}),
    ...(jsonName(e.path, 'path') as {path: string; pathBase64?: string}),
    ino: e.ino,
    type: e.type,
    mode: st.mode,
    modeString: modeString(st.mode),
    nlink: st.nlink,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    allocated: st.allocated,
    mtime: st.mtime,
  }
  if (isDevice(e.type)) Object.assign(entry, splitDevice(st.rdev))
  if (e.target) Object.assign(entry, jsonName(e.target, 'target'))
  return entry
}

/** The name as ls shows it, coloured by type on a terminal. */
function styledName(e: Listed, label = displayName(e.name)): string {
  const c = colors().out
  if (e.type === 'dir') return c.bold.blue(label)
  if (e.type === 'symlink') return c.cyan(label)
  if (e.type === 'fifo' || e.type === 'socket' || isDevice(e.type)) return c.yellow(label)
  if (e.stat && e.type === 'file' && e.stat.mode & 0o111) return c.green(label)
  return label
}

/** Short format: one name per line (like `ls -1`). */
export function renderShort(entries: readonly Listed[], label?: (e: Listed) => string): string[] {
  return entries.map((e) => styledName(e, label?.(e)))
}

/** The 'total' line: allocated space in 1 KiB units, as ls -l prints it. */
export function totalLine(entries: readonly Listed[]): string {
  const kib = entries.reduce((sum, e) => sum + Math.ceil((e.stat?.allocated ?? 0) / 1024), 0)
  return `total ${kib}`
}

/** Long format (ls -l with numeric ids and long-iso times): mode, links, uid, gid, size or major, minor, mtime, name [-> target]. */
export function renderLong(entries: readonly Listed[], label?: (e: Listed) => string): string[] {
  const rows = entries.map((e) => {
    const st = e.stat as Stat
    let size = String(st.size)
    if (isDevice(e.type)) {
      const {major, minor} = splitDevice(st.rdev)
      size = `${major}, ${minor}`
    }
    let name = styledName(e, label?.(e))
    if (e.target) name += ` -> ${displayName(e.target)}`
    return [
      modeString(st.mode),
      String(st.nlink),
      String(st.uid),
      String(st.gid),
      size,
      formatShortTime(st.mtime),
      name,
    ]
  })
  return columns(rows, ['left', 'right', 'left', 'left', 'right', 'left', 'left'])
}
