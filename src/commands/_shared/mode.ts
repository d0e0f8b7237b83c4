/** st_mode as ls(1) and stat(1) show it. */
import {
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  type FileType,
} from '../../core/index.js'

const TYPE_CHARS: Record<number, string> = {
  [S_IFREG]: '-',
  [S_IFDIR]: 'd',
  [S_IFLNK]: 'l',
  [S_IFCHR]: 'c',
  [S_IFBLK]: 'b',
  [S_IFIFO]: 'p',
  [S_IFSOCK]: 's',
}

/** 'drwxr-xr-x', with s/S for set-uid/set-gid and t/T for sticky. */
export function modeString(mode: number): string {
  const type = TYPE_CHARS[mode & S_IFMT] ?? '?'
  const rwx = (bits: number, special: boolean, on: string, off: string): string =>
    (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + (special ? (bits & 1 ? on : off) : bits & 1 ? 'x' : '-')
  return (
    type +
    rwx((mode >> 6) & 7, (mode & 0o4000) !== 0, 's', 'S') +
    rwx((mode >> 3) & 7, (mode & 0o2000) !== 0, 's', 'S') +
    rwx(mode & 7, (mode & 0o1000) !== 0, 't', 'T')
  )
}

/** Permission bits (including set-uid, set-gid, sticky) as 4 octal digits: '0755'. */
export function modeOctal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0')
}

const TYPE_NAMES: Record<FileType, string> = {
  file: 'regular file',
  dir: 'directory',
  symlink: 'symbolic link',
  chardev: 'character special file',
  blockdev: 'block special file',
  fifo: 'fifo',
  socket: 'socket',
}

/** The file type as stat(1) names it ('regular empty file' for an empty file). */
export function typeDescription(type: FileType, size: number): string {
  return type === 'file' && size === 0 ? 'regular empty file' : TYPE_NAMES[type]
}

export function isDevice(type: FileType): boolean {
  return type === 'chardev' || type === 'blockdev'
}

/** Split a Linux dev_t (glibc's 64-bit makedev encoding) into major and minor. */
export function splitDevice(rdev: number): {major: number; minor: number} {
  const dev = BigInt(rdev)
  const major = ((dev & 0x00000000000fff00n) >> 8n) | ((dev & 0xfffff00000000000n) >> 32n)
  const minor = (dev & 0x00000000000000ffn) | ((dev & 0x00000ffffff00000n) >> 12n)
  return {major: Number(major), minor: Number(minor)}
}
