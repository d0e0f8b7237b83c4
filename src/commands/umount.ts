import fs from 'node:fs'
import path from 'node:path'
import {Args, Flags} from '@oclif/core'
import {BaseCommand} from './_base.js'
import {CommandError} from './_shared/errors.js'
import {EXIT} from './_shared/exit-codes.js'
import {razorMounts, unmount} from '../fuse/mounts.js'
import {abortAndDetach, isDead} from '../fuse/control.js'
import {cliError, liveLockHolder} from './_shared/fuse.js'

export interface UmountResult {
  mountpoint: string
  image: string
  /** Whether the serving process had closed the image (clean) when the command returned. */
  closed: boolean
  /** The serving process was gone: the mount was dead, its connection aborted and the mount detached. */
  dead?: boolean
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export default class Umount extends BaseCommand<typeof Umount> {
  static override summary = 'Unmount an image mounted with razorfs mount.'

  static override description = [
    'Unmounts the RAZORFS image mounted at MOUNTPOINT and waits until the process serving it has written everything, marked the image clean and released it, so that the image can be used as soon as this command returns.',
    'A mount that is in use (a process has a file open or its working directory there) is not unmounted, as with umount(8), unless --lazy is given: then it is detached at once and the image is closed when its last user is done.',
    'A dead mount (its serving process was killed: every access fails with ENOTCONN, "Transport endpoint is not connected") is cleaned up: its FUSE connection is aborted through /sys/fs/fuse/connections/N/abort if it is still there, so that no process stays blocked in it, and it is detached even if busy. The command says so; the image recovers from its journal at its next read-write open (razorfs mount does that too).',
  ].join('\n\n')

  static override examples = [{description: 'Unmount.', command: '<%= config.bin %> <%= command.id %> /mnt/disk'}]

  static override args = {
    mountpoint: Args.string({description: 'Where the image is mounted.', required: true}),
  }

  static override flags = {
    lazy: Flags.boolean({
      char: 'l',
      summary: 'Detach a busy mount now; the image is closed when its last user is done.',
    }),
    timeout: Flags.integer({
      helpValue: 'SECONDS',
      default: 120,
      summary: 'How long to wait for the serving process to close the image.',
    }),
  }

  public async run(): Promise<UmountResult> {
    const mountpoint = path.resolve(this.args.mountpoint)
    const m = razorMounts().find((x) => x.mountpoint === mountpoint)
    if (!m) throw new CommandError(`${this.args.mountpoint}: no RAZORFS image is mounted there`, EXIT.FAILED, 'EINVAL')
    if (await isDead(m)) {
      const aborted = await abortAndDetach(m).catch((e: unknown) => {
        throw cliError(e)
      })
      this.warnLine(
        `the process serving ${mountpoint} is gone; ${aborted ? 'aborted its FUSE connection and ' : ''}detached the dead mount (${m.source} recovers from its journal at its next read-write open)`,
      )
      if (!this.quiet) this.log(`Unmounted ${mountpoint} (dead).`)
      return {mountpoint, image: m.source, closed: false, dead: true}
    }
    const lock = `${m.source}.lock`
    const locked = fs.existsSync(lock)
    try {
      await unmount(mountpoint, Boolean(this.flags.lazy))
    } catch (e) {
      const err = cliError(e)
      if (err instanceof CommandError && err.code === 'EBUSY' && !this.flags.lazy)
        throw new CommandError(`${err.message}; close what uses it, or detach it now with --lazy`, EXIT.FAILED, 'EBUSY')
      throw err
    }
    // the serving process releases the image's lock once it has closed it
    const holder = locked ? liveLockHolder(m.source) : undefined
    let closed = !locked
    let died = locked && holder === undefined
    const until = Date.now() + this.flags.timeout * 1000
    for (;;) {
      // a lock that is gone once no live holder is seen was released by a clean close, not left by a death
      if (died && !fs.existsSync(lock)) {
        died = false
        closed = true
      }
      if (closed || died || Date.now() >= until) break
      await sleep(50)
      closed = !fs.existsSync(lock)
      died = !closed && liveLockHolder(m.source) === undefined
    }
    if (died) {
      this.warnLine(
        `the process serving ${mountpoint} had ended without closing ${m.source}; its next read-write open recovers it from the journal`,
      )
      closed = false
    } else if (!closed && !this.flags.lazy)
      this.warnLine(`${m.source} is still open by the serving process after ${this.flags.timeout} seconds`)
    if (!this.quiet)
      this.log(
        closed
          ? `Unmounted ${mountpoint}; ${m.source} is closed.`
          : died
            ? `Unmounted ${mountpoint}.`
            : `Detached ${mountpoint}; ${m.source} is closed when its last user is done.`,
      )
    return {mountpoint, image: m.source, closed}
  }
}
