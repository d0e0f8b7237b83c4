/**
 * Process entry for bin/run.js, bin/razorfsck.js and bin/mkfs.razorfs.js:
 * runs oclif, and turns the errors that happen outside any command
 * (unknown command, bad root flags) into the same one-line report.
 */
import type {ErrorReport} from './errors.js'
import {applyColorPolicy} from './terminal.js'

applyColorPolicy()

const {Errors, flush, run, settings} = await import('@oclif/core')
const {describeError, systemErrorText} = await import('./errors.js')
const {EXIT} = await import('./exit-codes.js')
const {hasFlag, printError} = await import('./report.js')

export interface MainOptions {
  /** Exit status when the command does not exist (2 for razorfs; 8 for razorfsck, per fsck(8)). */
  notFoundExit?: number
}

/** Run razorfs with argv (without node and script) and set process.exitCode. */
export async function main(argv: string[], opts: MainOptions = {}): Promise<void> {
  // Always run the compiled commands in dist/, even under NODE_ENV=test or development.
  settings.enableAutoTranspile = false
  // A closed pipe (razorfs ls -R img | head) ends output quietly; other failures are reported once.
  // (This replaces oclif's own listener, which rethrows them as uncaught exceptions.)
  process.stdout.removeAllListeners('error')
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
    printError(
      {code: err.code ?? 'EIO', message: `standard output: ${systemErrorText(err)}`, exit: EXIT.HOST_IO},
      false,
    )
    process.exit(EXIT.HOST_IO)
  })
  try {
    await run(argv, import.meta.url)
    await flush()
  } catch (error) {
    const err = error as Error & {oclif?: {exit?: number}}
    if (err instanceof Errors.ExitError) {
      process.exitCode = err.oclif.exit
      return
    }
    const r = notFoundReport(err, opts.notFoundExit ?? EXIT.USAGE) ?? describeError(err)
    printError(r, hasFlag(argv, '--json'))
    if (hasFlag(argv, '--debug')) process.stderr.write(`${err.stack ?? String(err)}\n`)
    process.exitCode = r.exit
  }
}

/** oclif's "command X not found", as a usage error (or fsck(8)'s operational error for razorfsck). */
function notFoundReport(err: Error, exit: number): ErrorReport | undefined {
  const m = /^command (\S+) not found/i.exec(err.message ?? '')
  if (!m) return undefined
  const name = m[1].split(':')[0]
  let message = `'${name}' is not a razorfs command; see 'razorfs --help'`
  if (name === 'fsck' && exit !== EXIT.USAGE)
    message = "fsck is not available in this version of razorfs; see 'razorfs --help'"
  else if (name.startsWith('-')) message = `unknown option '${name}'; see 'razorfs --help'`
  return {code: exit === EXIT.USAGE ? 'EUSAGE' : 'ENOCOMMAND', message, exit}
}
