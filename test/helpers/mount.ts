/**
 * Real mounts for the FUSE tests: mount an image with the CLI, always unmount
 * in teardown (even when the test failed, so no stale mount breaks the next
 * run), run commands as an unprivileged user, and mmap through mmap.pl.
 */
import fs from 'node:fs'
import path from 'node:path'
import {spawnSync, type SpawnSyncReturns} from 'node:child_process'
import {cli, cliUnavailable, PROJECT, type RunResult, type TapLike} from './image.js'
import {jsonResult} from './envelope.js'

export const NOBODY = 65534
export const MMAP_PL = path.join(PROJECT, 'test/helpers/mmap.pl')

/** Why real mounts cannot run here, or undefined when they can. */
export function mountUnavailable(): string | undefined {
  const c = cliUnavailable()
  if (c) return c
  if (process.platform !== 'linux') return 'FUSE mounts are tested on Linux only'
  if (process.getuid?.() !== 0) return 'the mount tests run as root (CI does)'
  if (!fs.existsSync('/dev/fuse')) return '/dev/fuse is missing (install fuse)'
  const m = spawnSync('mount', ['--version'])
  if (m.error) return 'mount(8) is missing'
  return undefined
}

/** Detach a mount, ignoring errors (teardown). */
export function forceUnmount(mnt: string): void {
  spawnSync('umount', ['-l', mnt], {stdio: 'ignore'})
}

export interface Mounted {
  mnt: string
  pid: number
  result: RunResult
}

/** Wait (polling) until `cond` holds or `ms` pass; returns whether it held. */
export function waitFor(cond: () => boolean, ms = 30000): boolean {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (cond()) return true
    spawnSync('sleep', ['0.05'])
  }
  return cond()
}

/**
 * `razorfs mount IMAGE MNT -o OPTS` (detached); fails the test when it does
 * not mount. Teardown detaches the mount and waits for the image's lock.
 */
export function mount(
  t: TapLike & {fail: (m: string) => void},
  image: string,
  mnt: string,
  opts: string[] = [],
): Mounted {
  fs.mkdirSync(mnt, {recursive: true})
  const args = ['mount', image, mnt, '--json']
  for (const o of opts) args.push('-o', o)
  const result = cli(args, {timeoutMs: 60000})
  t.teardown(() => {
    forceUnmount(mnt)
    waitFor(() => !fs.existsSync(`${image}.lock`), 20000)
  })
  let pid = 0
  if (result.status === 0) pid = (jsonResult(result.stdout) as {pid: number}).pid
  else t.fail(`mount failed (${result.status}): ${result.stderr}`)
  return {mnt, pid, result}
}

/** `razorfs umount MNT`: waits until the image is closed. */
export function umount(mnt: string): RunResult {
  return cli(['umount', mnt], {timeoutMs: 120000})
}

/** Run a shell command as nobody:nogroup (no supplementary groups). */
export function asNobody(cmd: string, cwd?: string): SpawnSyncReturns<string> {
  return spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'sh', '-c', cmd], {
    cwd,
    encoding: 'utf8',
    timeout: 60000,
  })
}

/** Store `data` at `offset` of an existing file through a shared mapping. */
export function mmapWrite(file: string, offset: number, data: Buffer): void {
  const r = spawnSync('perl', [MMAP_PL, 'write', file, String(offset)], {
    input: data,
    encoding: 'buffer',
    timeout: 60000,
  })
  if (r.status !== 0) throw new Error(`mmap write ${file}@${offset}: ${r.stderr.toString() || r.signal}`)
}

/** Read `length` bytes at `offset` through a shared mapping. */
export function mmapRead(file: string, offset: number, length: number): Buffer {
  const r = spawnSync('perl', [MMAP_PL, 'read', file, String(offset), String(length)], {
    encoding: 'buffer',
    maxBuffer: 1 << 28,
    timeout: 60000,
  })
  if (r.status !== 0) throw new Error(`mmap read ${file}@${offset}: ${r.stderr.toString() || r.signal}`)
  return r.stdout
}
