/** `razorfs mount -o` options: parsed once, checked, with their help text. */
import {FsError} from './errno.js'

export type Backend = 'auto' | 'kernel' | 'libfuse'

export interface MountOptions {
  readOnly: boolean
  allowOther: boolean
  /** The kernel checks permissions from the mode bits (on unless no_default_permissions). */
  defaultPermissions: boolean
  suid: boolean
  dev: boolean
  exec: boolean
  noatime: boolean
  /** Seconds between automatic commits (0: only fsync, razorfs sync and unmount commit). */
  commit: number
  /** Commit at every close(2) of a file that changed something. */
  syncOnClose: boolean
  /** Seconds the kernel may cache names and attributes. */
  attrTimeout: number
  /** Largest read or write request, bytes. */
  maxWrite: number
  fsname?: string
  debug: boolean
  backend: Backend
}

export const DEFAULT_OPTIONS: MountOptions = {
  readOnly: false,
  allowOther: false,
  defaultPermissions: true,
  suid: false,
  dev: false,
  exec: true,
  noatime: false,
  commit: 5,
  syncOnClose: false,
  attrTimeout: 1,
  maxWrite: 1 << 20,
  debug: false,
  backend: 'auto',
}

/** Each option and what it does (for --help and the man page). */
export const OPTION_HELP: ReadonlyArray<[string, string]> = [
  ['ro, rw', 'Mount read-only (the image is opened read-only and not changed at all) or read-write (the default).'],
  ['allow_other', 'Let users other than the one mounting use the mount.'],
  [
    'default_permissions',
    'The kernel checks every access against the mode, owner and group, as for a kernel filesystem (EACCES, EPERM). On by default; no_default_permissions turns it off.',
  ],
  [
    'suid, nosuid, dev, nodev, exec, noexec',
    'As for mount(8). The default is nosuid,nodev,exec: a set-user-ID program or a device node in an image does not act as one unless asked.',
  ],
  [
    'noatime, relatime',
    "relatime (the default) updates a file's access time when it is older than its modification or change time, or a day old; noatime never does.",
  ],
  [
    'commit=SECONDS',
    'Commit buffered writes and metadata to the journal every SECONDS (default 5; 0: only at fsync, fdatasync, razorfs sync and unmount). A crash loses at most what was not yet committed.',
  ],
  [
    'sync_on_close',
    'Commit at every close(2) of a file on the mount, before close returns, when anything is uncommitted: a file is durable once the program that wrote it has closed it (cp, tar, editors that do not fsync). Costs one journal commit and fsync(2) of the image per such close (bench/sync.sh: cp -r of 763 small files then razorfs sync took 2.8 times as long, the server 2.3 times the CPU); off by default: use fsync or razorfs sync where it matters.',
  ],
  ['attr_timeout=SECONDS', 'How long the kernel may cache names and attributes (default 1).'],
  ['max_write=BYTES', 'Largest read and write the kernel sends (default 1M, at most 1M).'],
  ['fsname=NAME', 'The source shown in /proc/mounts and df (default: the image path).'],
  ['debug', 'Log every request on stderr (implies --foreground).'],
  [
    'backend=auto|kernel|libfuse',
    'kernel: razorfs speaks the FUSE protocol on /dev/fuse itself (needs root); libfuse: through fuse-native and libfuse2 (works without root, with limitations, see DESCRIPTION); auto (the default): kernel as root, else libfuse.',
  ],
]

function seconds(name: string, v: string): number {
  const n = Number(v)
  if (v === '' || !Number.isFinite(n) || n < 0 || n > 86400)
    throw new FsError('EINVAL', `-o ${name}=${v}: expected a number of seconds from 0 to 86400`)
  return n
}

function bytes(name: string, v: string): number {
  const m = /^(\d+)([kKmM]?)$/.exec(v)
  if (!m) throw new FsError('EINVAL', `-o ${name}=${v}: expected a size like 131072, 128K or 1M`)
  const n = Number(m[1]) * ({'': 1, k: 1024, K: 1024, m: 1 << 20, M: 1 << 20}[m[2]!] ?? 1)
  if (n < 4096 || n > 1 << 20) throw new FsError('EINVAL', `-o ${name}=${v}: must be from 4K to 1M`)
  return n
}

/** Parse `-o` values (each a comma-separated list). Throws FsError('EINVAL') naming a bad option. */
export function parseMountOptions(lists: readonly string[]): MountOptions {
  const o: MountOptions = {...DEFAULT_OPTIONS}
  for (const list of lists) {
    for (const item of list.split(',')) {
      if (item === '') continue
      const eq = item.indexOf('=')
      const key = eq < 0 ? item : item.slice(0, eq)
      const val = eq < 0 ? undefined : item.slice(eq + 1)
      const flag = (v: boolean) => {
        if (val !== undefined) throw new FsError('EINVAL', `-o ${key} takes no value`)
        return v
      }
      switch (key) {
        case 'ro':
          o.readOnly = flag(true)
          break
        case 'rw':
          o.readOnly = flag(false)
          break
        case 'allow_other':
          o.allowOther = flag(true)
          break
        case 'default_permissions':
          o.defaultPermissions = flag(true)
          break
        case 'no_default_permissions':
          o.defaultPermissions = flag(false)
          break
        case 'suid':
          o.suid = flag(true)
          break
        case 'nosuid':
          o.suid = flag(false)
          break
        case 'dev':
          o.dev = flag(true)
          break
        case 'nodev':
          o.dev = flag(false)
          break
        case 'exec':
          o.exec = flag(true)
          break
        case 'noexec':
          o.exec = flag(false)
          break
        case 'noatime':
          o.noatime = flag(true)
          break
        case 'atime':
        case 'relatime':
          o.noatime = flag(false)
          break
        case 'debug':
          o.debug = flag(true)
          break
        case 'sync_on_close':
          o.syncOnClose = flag(true)
          break
        case 'commit':
          o.commit = seconds(key, val ?? '')
          break
        case 'attr_timeout':
        case 'entry_timeout':
          o.attrTimeout = seconds(key, val ?? '')
          break
        case 'max_write':
        case 'max_read':
          o.maxWrite = bytes(key, val ?? '')
          break
        case 'fsname':
          if (!val || /[\s,]/.test(val)) throw new FsError('EINVAL', `-o fsname needs a value without spaces or commas`)
          o.fsname = val
          break
        case 'backend':
          if (val !== 'auto' && val !== 'kernel' && val !== 'libfuse')
            throw new FsError('EINVAL', `-o backend=${val ?? ''}: expected auto, kernel or libfuse`)
          o.backend = val
          break
        default:
          throw new FsError(
            'EINVAL',
            `unknown mount option '${item}'; known: ${OPTION_HELP.map(([k]) => k).join(', ')}`,
          )
      }
    }
  }
  return o
}
