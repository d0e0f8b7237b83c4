import path from 'node:path'
import {Args, Flags} from '@oclif/core'
import {BaseCommand} from './_base.js'
import {CommandError} from './_shared/errors.js'
import {EXIT} from './_shared/exit-codes.js'
import {razorMounts, run, type MountError} from '../fuse/mounts.js'
import {askServer} from '../fuse/control.js'

export interface SyncedMount {
  mountpoint: string
  /** The image file (as mounted). */
  image: string
  /** The process serving the mount. */
  pid: number
  seconds: number
}

export interface SyncResult {
  synced: SyncedMount[]
}

export default class Sync extends BaseCommand<typeof Sync> {
  static override summary = 'Commit everything written to a mount, and return once it is on disk.'

  static override description = [
    "For each MOUNTPOINT (a razorfs mount), returns only when everything written to that mount before this command started is committed to the image's journal and on disk: after a crash or SIGKILL of the serving process, the image recovers to a state that holds it.",
    'sync(1), sync -f and syncfs(2) do not do this on a FUSE mount: the kernel does not pass them on to the serving process (it writes out its own cached pages, but razorfs is not asked to commit). fsync(2) and fdatasync(2) of a file, and fsync(2) of a directory, do (see razorfs mount --help, DURABILITY); razorfs sync is the way for everything at once, for example after cp or tar into a mount.',
    "How: razorfs sync first makes the kernel write out the mount's dirty pages (what mmap(2) wrote; syncfs(2), as sync -f does), then asks the serving process, over its control socket (/run/razorfs/, found through the mount's device number in /proc/self/mountinfo), to commit everything it holds and fsync the image, and waits for its answer. The serving process never makes a call on its own mount for this.",
    'Mounts are synced one after the other; the command stops at the first that fails. A read-only mount has nothing to commit. A mount whose serving process is gone fails with a line saying so: detach it with razorfs umount (its image recovers from the journal at its next open).',
  ].join('\n\n')

  static override examples = [
    {
      description: 'Copy into a mount, then make it durable.',
      command: 'cp -r ~/photos /mnt/disk/ && <%= config.bin %> <%= command.id %> /mnt/disk',
    },
    {
      description: 'Two mounts, the result as JSON.',
      command: '<%= config.bin %> <%= command.id %> /mnt/a /mnt/b --json',
    },
  ]

  static override strict = false

  static override args = {
    'MOUNTPOINT...': Args.string({description: 'Where razorfs images are mounted.', required: true}),
  }

  static override flags = {
    timeout: Flags.integer({
      helpValue: 'SECONDS',
      default: 0,
      min: 0,
      summary:
        'Fail (exit 1, ETIMEDOUT) if a mount has not committed within SECONDS (default 0: wait as long as it takes).',
    }),
  }

  public async run(): Promise<SyncResult> {
    const {argv} = await this.parse(Sync)
    const synced: SyncedMount[] = []
    for (const given of argv as string[]) {
      const t0 = Date.now()
      const mountpoint = path.resolve(given)
      const m = razorMounts().find((x) => x.mountpoint === mountpoint)
      if (!m)
        throw new CommandError(
          `${given}: no RAZORFS image is mounted there; mount one with 'razorfs mount IMAGE ${given}'`,
          EXIT.FAILED,
          'EINVAL',
          {path: given},
        )
      this.context = {image: m.source}
      const timeoutMs = this.flags.timeout * 1000
      const dead = () =>
        new CommandError(
          `${given}: the mount is dead (the process that served ${m.source} is gone); detach it with 'razorfs umount ${given}' (the image recovers from its journal at its next open)`,
          EXIT.FAILED,
          'ENOTCONN',
          {path: given},
        )
      // is anybody there? (a dead mount would fail syncfs with ENOTCONN or an I/O error)
      try {
        await askServer(m.dev, {op: 'ping'}, 5000)
      } catch (e) {
        if ((e as MountError).code === 'ENOTCONN') throw dead()
        throw new CommandError(`${given}: ${(e as Error).message}`, EXIT.FAILED, (e as MountError).code ?? 'EIO', {
          path: given,
        })
      }
      // the kernel's dirty pages (shared mmap writes) reach the server first: syncfs(2) on the mount, as a client
      const r = await run('sync', ['-f', mountpoint])
      if (r.error) throw new CommandError(`cannot run sync(1): ${r.error.message}`, EXIT.FAILED, r.error.code ?? 'EIO')
      if (r.status !== 0)
        throw new CommandError(
          `${given}: writing out the kernel's cached pages failed: ${r.stderr.replace(/^sync: /, '') || `sync exit status ${r.status}`}`,
          EXIT.FAILED,
          'EIO',
          {path: given},
        )
      let reply
      try {
        reply = await askServer(m.dev, {op: 'sync'}, timeoutMs)
      } catch (e) {
        const code = (e as MountError).code ?? 'EIO'
        if (code === 'ENOTCONN') throw dead()
        throw new CommandError(`${given}: ${(e as Error).message}`, EXIT.FAILED, code, {path: given})
      }
      if (!reply.ok)
        throw new CommandError(`${given}: ${reply.error ?? 'the serving process refused'}`, EXIT.FAILED, 'EIO', {
          path: given,
        })
      const s: SyncedMount = {
        mountpoint,
        image: reply.image ?? m.source,
        pid: reply.pid ?? 0,
        seconds: (Date.now() - t0) / 1000,
      }
      synced.push(s)
      if (!this.quiet) this.log(`Synced ${mountpoint}: everything written before is committed to ${s.image}.`)
    }
    return {synced}
  }
}
