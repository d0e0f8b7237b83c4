/**
 * Terminal policy: colour only on a TTY (NO_COLOR / FORCE_COLOR honoured),
 * progress only when both stdout and stderr are TTYs and CI is not set.
 */
import {Chalk, type ChalkInstance} from 'chalk'

type Env = NodeJS.ProcessEnv

/** The user's colour settings, captured before {@link applyColorPolicy} changes FORCE_COLOR. */
const USER_ENV: Env = {FORCE_COLOR: process.env.FORCE_COLOR, NO_COLOR: process.env.NO_COLOR, TERM: process.env.TERM}

function envFlag(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false'
}

/** 0 (no colour) or 1 (basic ANSI colours) for a stream, following FORCE_COLOR, NO_COLOR, isTTY and TERM=dumb. */
export function colorLevel(stream: {isTTY?: boolean}, env: Env = USER_ENV): 0 | 1 {
  const force = env.FORCE_COLOR
  if (force !== undefined) return force === '' || envFlag(force) ? 1 : 0
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0
  if (env.TERM === 'dumb') return 0
  return stream.isTTY ? 1 : 0
}

/** True when progress displays may be drawn: both streams are terminals and we are not under CI. */
export function isInteractive(env: Env = process.env): boolean {
  return Boolean(process.stdout.isTTY && process.stderr.isTTY) && !envFlag(env.CI)
}

/**
 * Make third-party libraries (oclif help, chalk, listr2) agree with {@link colorLevel}:
 * when stdout gets no colour, set FORCE_COLOR=0 before they load. Must run before they are imported.
 */
export function applyColorPolicy(env: Env = process.env): void {
  if (env.FORCE_COLOR === undefined && colorLevel(process.stdout) === 0) env.FORCE_COLOR = '0'
}

let cached: {out: ChalkInstance; err: ChalkInstance} | undefined

/** Chalk instances for stdout and stderr with the policy above. */
export function colors(): {out: ChalkInstance; err: ChalkInstance} {
  cached ??= {out: new Chalk({level: colorLevel(process.stdout)}), err: new Chalk({level: colorLevel(process.stderr)})}
  return cached
}

/** The environment variables the policy above reads, for the manual. */
export const ENVIRONMENT: readonly {name: string; meaning: string}[] = [
  {name: 'NO_COLOR', meaning: 'If set and not empty, no colour is used (unless FORCE_COLOR is set).'},
  {
    name: 'FORCE_COLOR',
    meaning: 'If set, overrides the terminal check: 0 or false turns colour off, anything else turns it on.',
  },
  {name: 'TERM', meaning: 'If dumb, no colour is used.'},
  {
    name: 'CI',
    meaning:
      'If set (and not 0 or false), no progress display is drawn (mkfs logs plain progress lines on standard error instead).',
  },
  {
    name: 'SOURCE_DATE_EPOCH',
    meaning:
      'mkfs: build a reproducible image with this time, in seconds since 1970 (see razorfs-mkfs(1)); --timestamp overrides it.',
  },
  {name: 'TMPDIR', meaning: 'Where mkfs --tar - --size auto keeps its copy of standard input while measuring it.'},
  {name: 'TZ', meaning: 'Time zone for the times that are shown (they are stored in UTC).'},
]
