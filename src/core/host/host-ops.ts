/**
 * Host operations Node's fs cannot do exactly: timestamps to the nanosecond
 * (fs.utimes rounds to the microsecond and replaces times before 1970 with
 * "now") and creating device nodes, fifos and sockets (Node has no mknod).
 *
 * They run in a small perl program (perl-base is part of every Debian and
 * Ubuntu system) through the raw syscalls utimensat and mknodat, relative to
 * a directory descriptor handed to it as fd 3, so no path it is given can
 * lead outside that directory: each directory component is opened with
 * O_NOFOLLOW|O_DIRECTORY and the final one is never followed
 * (AT_SYMLINK_NOFOLLOW). Times are batched: one perl process sets thousands.
 *
 * Without perl (or on an architecture whose syscall numbers are not listed)
 * times fall back to fs.lutimes (microseconds; times before 1970 are not
 * set) and special files to the mknod and mkfifo commands; `exact` says
 * which is in use so the caller can warn once.
 */
import fs from 'node:fs'
import os from 'node:os'
import {spawnSync} from 'node:child_process'
import type {Timespec} from '../types.js'
import {S_IFBLK, S_IFCHR, S_IFIFO, S_IFMT, S_IFSOCK} from '../types.js'

/** utimensat, mknodat syscall numbers per Node architecture. */
const SYSCALLS: Record<string, [number, number]> = {
  x64: [280, 259],
  arm64: [88, 33],
  riscv64: [88, 33],
  loong64: [88, 33],
  ia32: [320, 297],
  arm: [348, 324],
  ppc64: [304, 288],
  s390x: [315, 290],
}

const PERL = String.raw`
use strict; use warnings; use Fcntl qw(O_RDONLY O_DIRECTORY O_NOFOLLOW);
my ($SYS_utimensat, $SYS_mknodat) = @ARGV;
binmode STDIN; binmode STDOUT; $| = 0; $/ = "\0"; umask 0;
my @path; my @fds = (3); my @hs;
sub field { my $f = <STDIN>; die "short record\n" unless defined $f; chomp $f; return $f }
sub walk {
  my @parts = @_;
  my $k = 0;
  $k++ while $k < @parts && $k < @path && $parts[$k] eq $path[$k];
  splice(@path, $k); splice(@fds, $k + 1); splice(@hs, $k);
  for (my $i = $k; $i < @parts; $i++) {
    my $fh;
    sysopen($fh, "/proc/self/fd/$fds[-1]/$parts[$i]", O_RDONLY | O_DIRECTORY | O_NOFOLLOW) or return 0;
    push @path, $parts[$i]; push @fds, fileno($fh); push @hs, $fh;
  }
  return 1;
}
my $n = 0;
while (defined(my $op = <STDIN>)) {
  chomp $op;
  my $ok;
  if ($op eq 't') {
    my $rel = field(); my @t = map { field() } 1..4;
    my $ts = pack('l!4', @t);
    if ($rel eq '') { $ok = syscall($SYS_utimensat, 3, 0, $ts, 0) == 0 }
    else {
      my @parts = split m{/}, $rel, -1; my $last = pop @parts;
      $ok = walk(@parts) && syscall($SYS_utimensat, $fds[-1], $last, $ts, 0x100) == 0;
    }
  } elsif ($op eq 'n') {
    my $name = field(); my $mode = field(); my $dev = field();
    $ok = syscall($SYS_mknodat, 3, $name, $mode + 0, $dev + 0) == 0;
  } else { die "bad op\n" }
  print "$n ", ($! + 0), "\n" unless $ok;
  $n++;
}
`

export interface HostOpFailure {
  /** Index of the request (in the order given). */
  index: number
  code: string
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(os.constants.errno).map(([k, v]) => [v, k]))

let perlState: boolean | undefined

function syscalls(): [number, number] | undefined {
  return process.platform === 'linux' ? SYSCALLS[process.arch] : undefined
}

/** Whether the exact path (perl with raw syscalls) is available. */
export function exactHostOps(): boolean {
  if (perlState === undefined) {
    const nrs = syscalls()
    if (!nrs || !fs.existsSync('/proc/self/fd')) perlState = false
    else {
      const r = spawnSync('perl', ['-e', 'exit 0'], {stdio: 'ignore'})
      perlState = !r.error && r.status === 0
    }
  }
  return perlState
}

function runPerl(dirFd: number, input: Buffer): HostOpFailure[] {
  const [ut, mk] = syscalls()!
  const r = spawnSync('perl', ['-e', PERL, String(ut), String(mk)], {
    input,
    stdio: ['pipe', 'pipe', 'pipe', dirFd],
    maxBuffer: 1 << 28,
  })
  if (r.error) throw r.error
  if (r.status !== 0) throw new Error(`host helper failed: ${r.stderr.toString().trim() || `exit ${r.status}`}`)
  const out: HostOpFailure[] = []
  for (const line of r.stdout.toString().split('\n')) {
    const m = /^(\d+) (\d+)$/.exec(line)
    if (m) out.push({index: Number(m[1]), code: ERRNO_NAMES.get(Number(m[2])) ?? `errno ${m[2]}`})
  }
  return out
}

const NUL = Buffer.from([0])
const field = (v: string | Buffer): Buffer[] => [typeof v === 'string' ? Buffer.from(v) : v, NUL]

/** The path of `name` inside the directory open as `dirFd`, never leaving it. */
export function at(dirFd: number, name: Buffer | string): Buffer {
  return Buffer.concat([Buffer.from(`/proc/self/fd/${dirFd}/`), typeof name === 'string' ? Buffer.from(name) : name])
}

/** Split a Linux dev_t (glibc makedev encoding) and re-encode it as the kernel's 32-bit form that mknodat takes. */
function kernelDev(rdev: number): number {
  const dev = BigInt(rdev)
  const major = ((dev & 0x00000000000fff00n) >> 8n) | ((dev & 0xfffff00000000000n) >> 32n)
  const minor = (dev & 0x00000000000000ffn) | ((dev & 0x00000ffffff00000n) >> 12n)
  return Number((minor & 0xffn) | (major << 8n) | ((minor & ~0xffn) << 12n)) >>> 0
}

function errnoError(code: string, syscall: string, path: Buffer): NodeJS.ErrnoException {
  const e = new Error(`${code}: ${syscall} '${path.toString()}'`) as NodeJS.ErrnoException
  e.code = code
  e.errno = os.constants.errno[code as keyof typeof os.constants.errno] ?? -1
  e.syscall = syscall
  return e
}

/**
 * Create a fifo, socket, character or block device `name` in the directory
 * open as `dirFd`, with exactly the permission bits of `mode` (no umask).
 * Throws an errno-shaped error (EEXIST, EPERM, ...).
 */
export function mknodAt(dirFd: number, name: Buffer, mode: number, rdev: number): void {
  const type = mode & S_IFMT
  if (![S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK].includes(type)) throw errnoError('EINVAL', 'mknod', name)
  const dev = type === S_IFCHR || type === S_IFBLK ? kernelDev(rdev) : 0
  if (exactHostOps()) {
    const fails = runPerl(
      dirFd,
      Buffer.concat([...field('n'), ...field(name), ...field(String(mode)), ...field(String(dev))]),
    )
    if (fails.length) throw errnoError(fails[0]!.code, 'mknod', name)
    return
  }
  // fallback: the mknod/mkfifo commands, on a plain temporary name (argv cannot carry every byte), then renamed
  if (type === S_IFSOCK) throw errnoError('ENOTSUP', 'mknod', name)
  const tmp = `.razorfs-mknod-${process.pid}-${Math.random().toString(36).slice(2)}`
  const perm = (mode & 0o7777).toString(8)
  const args =
    type === S_IFIFO
      ? ['mkfifo', '-m', perm, `/proc/self/fd/3/${tmp}`]
      : [
          'mknod',
          '-m',
          perm,
          `/proc/self/fd/3/${tmp}`,
          type === S_IFCHR ? 'c' : 'b',
          String((kernelDev(rdev) >>> 8) & 0xfff),
          String((kernelDev(rdev) & 0xff) | ((kernelDev(rdev) >>> 12) & 0xfff00)),
        ]
  const r = spawnSync(args[0]!, args.slice(1), {stdio: ['ignore', 'ignore', 'pipe', dirFd]})
  if (r.error || r.status !== 0)
    throw errnoError(/Operation not permitted/.test(r.stderr?.toString() ?? '') ? 'EPERM' : 'EIO', 'mknod', name)
  try {
    fs.linkSync(at(dirFd, tmp), at(dirFd, name))
  } finally {
    fs.rmSync(at(dirFd, tmp), {force: true})
  }
}

interface TimeRequest {
  rel: Buffer
  atime: Timespec
  mtime: Timespec
}

/**
 * Timestamps to set on entries below a root directory (open as `rootFd`),
 * applied in the order queued (queue a directory after everything inside
 * it). `flush` applies the queue; it also runs by itself every few
 * thousand entries.
 */
export class HostTimes {
  private queue: TimeRequest[] = []
  readonly exact = exactHostOps()
  private static readonly BATCH = 20000

  constructor(
    private readonly rootFd: number,
    private readonly onFailure: (rel: Buffer, code: string) => void,
  ) {}

  /** Queue the times of the entry at `rel` ('/'-separated, relative to the root; empty for the root itself). */
  set(rel: Buffer, atime: Timespec, mtime: Timespec): void {
    this.queue.push({rel, atime, mtime})
    if (this.queue.length >= HostTimes.BATCH) this.flush()
  }

  flush(): void {
    const q = this.queue
    this.queue = []
    if (!q.length) return
    if (this.exact) {
      const parts: Buffer[] = []
      for (const r of q)
        parts.push(
          ...field('t'),
          ...field(r.rel),
          ...field(String(r.atime.sec)),
          ...field(String(r.atime.nsec)),
          ...field(String(r.mtime.sec)),
          ...field(String(r.mtime.nsec)),
        )
      for (const f of runPerl(this.rootFd, Buffer.concat(parts))) this.onFailure(q[f.index]!.rel, f.code)
      return
    }
    for (const r of q) {
      try {
        this.fallback(r)
      } catch (e) {
        this.onFailure(r.rel, (e as NodeJS.ErrnoException).code ?? 'EIO')
      }
    }
  }

  /** fs.lutimes through descriptors opened component by component with O_NOFOLLOW. */
  private fallback(r: TimeRequest): void {
    const secs = (t: Timespec) => (t.sec < 0 ? undefined : t.sec + t.nsec / 1e9)
    const a = secs(r.atime)
    const m = secs(r.mtime)
    if (a === undefined || m === undefined) return
    if (r.rel.length === 0) {
      fs.futimesSync(this.rootFd, a, m)
      return
    }
    const parts: Buffer[] = []
    let s = 0
    for (let i = 0; i <= r.rel.length; i++) {
      if (i === r.rel.length || r.rel[i] === 0x2f) {
        parts.push(r.rel.subarray(s, i))
        s = i + 1
      }
    }
    const last = parts.pop()!
    const opened: number[] = []
    try {
      let fd = this.rootFd
      for (const p of parts) {
        fd = fs.openSync(at(fd, p), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW)
        opened.push(fd)
      }
      fs.lutimesSync(at(fd, last), a, m)
    } finally {
      for (const fd of opened) fs.closeSync(fd)
    }
  }
}
