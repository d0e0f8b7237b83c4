import fs from 'node:fs'
import path from 'node:path'
import {spawn} from 'node:child_process'
import {Args, Flags} from '@oclif/core'
import {BaseCommand} from './_base.js'
import {CommandError, describeError, type ErrorReport} from './_shared/errors.js'
import {EXIT, type ExitCode} from './_shared/exit-codes.js'
import {checkImageFile, recoveryNote} from './_shared/open.js'
import {cliError} from './_shared/fuse.js'
import {checkMountpoint, mountImage} from '../fuse/mount.js'
import type {MountedFs} from '../fuse/mounts.js'
import {cleanupDeadMounts} from '../fuse/control.js'
import {OPTION_HELP, parseMountOptions, type MountOptions} from '../fuse/options.js'

export interface MountResult {
  image: string
  mountpoint: string
  backend: 'kernel' | 'libfuse'
  readOnly: boolean
  /** The process serving the mount. */
  pid: number
}

/** What the serving process tells the one that started it, one JSON line on the readiness pipe. */
type ReadyMessage = {ready: MountResult; warning?: string} | {error: ErrorReport}

export default class Mount extends BaseCommand<typeof Mount> {
  static override summary = 'Mount an image as a filesystem (FUSE).'

  static override description = [
    'Mounts IMAGE at the directory MOUNTPOINT: every program can then read and write its files. Without --foreground the command returns once the mount is live, leaving a background process serving it; it fails, and nothing stays mounted, if the image cannot be opened (for example while another process writes it: the image is locked) or the kernel refuses the mount.',
    'Writes are journaled: what is committed survives a crash or SIGKILL of the serving process, and the image recovers at its next open; what was not yet committed is lost. Unmounting (razorfs umount, umount(8), fusermount -u) or SIGTERM, SIGINT or SIGHUP to the serving process commits everything, marks the image clean and ends the process with status 0.',
    "DURABILITY. A write(2) has reached razorfs when it returns (the kernel's writeback cache is not used); a store through a shared mmap(2) reaches it at msync(2), fsync(2), close(2) of a descriptor of the file, or razorfs sync. It is committed, and on disk, when one of these returns: fsync(2) or fdatasync(2) of the file (its data and attributes, and every change to names and attributes made before, anywhere in the image); fsync(2) of a directory (every change to names and attributes made before, so its entries, and the data of files already closed, but not data still being written through a descriptor that is open); razorfs sync MOUNTPOINT (everything written to the mount before it started); unmounting. Besides, everything is committed every 5 seconds (-o commit=SECONDS). sync(1), sync -f and syncfs(2) do NOT commit: the kernel does not pass them on to a FUSE filesystem, so they return before razorfs has committed anything; use razorfs sync.",
    'While mounted read-write the image is locked: a second mount, or any other razorfs command that would write it, is refused. Read-only commands (ls, cat, stat, dump) still work but see only what has been committed.',
    "Permissions are checked by the kernel from each file's mode, owner and group (default_permissions), so the mount behaves like a kernel filesystem: a file created by a user belongs to that user. Other users can use the mount only with -o allow_other.",
    "fallocate(2) works as on ext4: mode 0 and FALLOC_FL_KEEP_SIZE preallocate, PUNCH_HOLE|KEEP_SIZE and ZERO_RANGE (with or without KEEP_SIZE) make a range read as zeros; COLLAPSE_RANGE, INSERT_RANGE and UNSHARE_RANGE fail with EOPNOTSUPP, a range past the largest file size (2^53 - 1 bytes) with EFBIG, a preallocation the image cannot hold with ENOSPC. RAZORFS never overwrites data in place, so preallocating holds back free space (a whole cluster for each cluster of the range that holds no data, gone from df and counted in the file's blocks) rather than assigning blocks: the first write into each preallocated cluster cannot fail with ENOSPC, as on btrfs; rewriting data already written needs free space like any copy-on-write. Preallocations are not stored in the image: they end when it is unmounted (and posix_fallocate(3) of a libfuse mount writes zeros, which RAZORFS stores as holes: no space is set aside there).",
    "As root, razorfs speaks the kernel's FUSE protocol itself (needs /dev/fuse and mount(8)). Without root it mounts through fuse-native and libfuse2 (Debian packages libfuse2 and fuse), which cannot do everything: new files belong to the user who mounted, timestamps have millisecond precision and cannot be set one at a time, fallocate fails with EOPNOTSUPP (every mode), and names that are not valid UTF-8 do not work.",
    'Options (-o, comma-separated, repeatable):',
    ...OPTION_HELP.map(([k, v]) => `${k}: ${v}`),
  ].join('\n\n')

  static override examples = [
    {
      description: 'Mount, use, unmount.',
      command:
        '<%= config.bin %> <%= command.id %> disk.img /mnt/disk && cp -r ~/photos /mnt/disk/ && <%= config.bin %> umount /mnt/disk',
    },
    {
      description: 'Read-only, for every user.',
      command: '<%= config.bin %> <%= command.id %> disk.img /mnt/disk -o ro,allow_other',
    },
    {
      description: 'Stay in the foreground (Ctrl-C unmounts).',
      command: '<%= config.bin %> <%= command.id %> disk.img /mnt/disk --foreground',
    },
  ]

  static override args = {
    image: Args.string({description: 'The image file.', required: true}),
    mountpoint: Args.string({description: 'An existing directory to mount it on.', required: true}),
  }

  static override flags = {
    options: Flags.string({
      char: 'o',
      helpValue: 'OPT[,OPT...]',
      multiple: true,
      summary: 'Mount options (see DESCRIPTION): ro, allow_other, default_permissions, commit=SECONDS, ...',
    }),
    foreground: Flags.boolean({
      char: 'f',
      summary: 'Serve the mount from this process until it is unmounted, instead of returning once it is live.',
    }),
    'ready-fd': Flags.integer({hidden: true, summary: 'Internal: report readiness on this file descriptor.'}),
  }

  public async run(): Promise<MountResult> {
    const {image, mountpoint} = this.args
    this.context = {image}
    let o: MountOptions
    try {
      o = parseMountOptions(this.flags.options ?? [])
    } catch (e) {
      throw cliError(e)
    }
    const readyFd = this.flags['ready-fd']
    try {
      checkImageFile(image)
      // a dead mount of this image, or at this mountpoint (its server was killed): clean it up first
      if (readyFd === undefined)
        for (const note of await cleanupDeadMounts(path.resolve(image), path.resolve(mountpoint))) this.warnLine(note)
      checkMountpoint(mountpoint)
    } catch (e) {
      throw this.report(cliError(e), readyFd)
    }
    if (!this.flags.foreground && !o.debug && readyFd === undefined) return this.detach(image, mountpoint)
    return this.serve(image, mountpoint, o, readyFd)
  }

  /** In the child: report the failure to the parent over the pipe, then fail quietly. */
  private report(e: unknown, readyFd: number | undefined): unknown {
    if (readyFd === undefined) return e
    const report = describeError(e, this.context, this.id)
    this.tell(readyFd, {error: report})
    return new CommandError('', report.exit as ExitCode, report.code)
  }

  private tell(fd: number, msg: ReadyMessage): void {
    try {
      fs.writeSync(fd, JSON.stringify(msg) + '\n')
      fs.closeSync(fd)
    } catch {
      // the parent is gone
    }
  }

  private async serve(image: string, mountpoint: string, o: MountOptions, readyFd?: number): Promise<MountResult> {
    let m: MountedFs
    try {
      m = await mountImage(image, mountpoint, o)
    } catch (e) {
      throw this.report(cliError(e), readyFd)
    }
    const result: MountResult = {image, mountpoint, backend: m.backend, readOnly: o.readOnly, pid: process.pid}
    const note = recoveryNote(image, m, o.readOnly)
    if (readyFd !== undefined) this.tell(readyFd, {ready: result, warning: note})
    else {
      if (note) this.warnLine(note)
      if (!this.quiet)
        process.stderr.write(
          `razorfs: ${describeMount(result)}; unmount with 'razorfs umount ${mountpoint}' or Ctrl-C\n`,
        )
    }
    let signals = 0
    const onSignal = (sig: NodeJS.Signals) => {
      signals++
      if (signals > 1 && o.debug)
        process.stderr.write(`razorfs: ${sig} again: still waiting for the mount's last user\n`)
      if (signals > 1) return
      m.unmount().catch((e: Error) => process.stderr.write(`razorfs: ${e.message}\n`))
    }
    for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(s, onSignal)
    try {
      await m.closed
    } finally {
      for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.off(s, onSignal)
      // fuse-native may leave handles behind; nothing is left to do once the image is closed
      setTimeout(() => process.exit(), 1000).unref()
    }
    return result
  }

  /** Start the serving process in the background and wait until the mount is live. */
  private async detach(image: string, mountpoint: string): Promise<MountResult> {
    const args = [process.argv[1]!, 'mount', image, mountpoint, '--foreground', '--ready-fd', '3']
    for (const opt of this.flags.options ?? []) args.push('-o', opt)
    const child = spawn(process.execPath, args, {
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
      env: {...process.env, NODE_OPTIONS: ''},
    })
    const pipe = child.stdio[3] as NodeJS.ReadableStream
    let text = ''
    pipe.on('data', (d: Buffer) => (text += d.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    await new Promise<void>((resolve) => {
      pipe.on('end', () => resolve())
      pipe.on('error', () => resolve())
    })
    const line = text.split('\n').find((l) => l.startsWith('{'))
    const msg = line ? (JSON.parse(line) as ReadyMessage) : undefined
    if (msg && 'ready' in msg) {
      child.unref()
      if (msg.warning) this.warnLine(msg.warning)
      if (!this.quiet) this.log(`${describeMount(msg.ready)}; unmount with 'razorfs umount ${mountpoint}'`)
      return msg.ready
    }
    if (msg && 'error' in msg) throw new CommandError(msg.error.message, msg.error.exit as ExitCode, msg.error.code)
    const status = await exited
    throw new CommandError(
      `${image}: the mount process ended (exit status ${status}) before the mount was live; run with --foreground to see why`,
      EXIT.FAILED,
      'EMOUNT',
    )
  }
}

function describeMount(r: MountResult): string {
  const how = r.backend === 'kernel' ? 'kernel FUSE' : 'libfuse'
  return `Mounted ${r.image} on ${path.resolve(r.mountpoint)} (${r.readOnly ? 'read-only' : 'read-write'}, ${how}, pid ${r.pid})`
}
