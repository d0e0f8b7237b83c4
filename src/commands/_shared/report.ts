/** Printing an error report: one line on stderr, or the JSON envelope on stdout under --json. */
import type {ErrorReport} from './errors.js'
import {colors} from './terminal.js'

/** The JSON printed on stdout instead of a result when a --json command fails. */
export interface ErrorEnvelope {
  error: {code: string; message: string; exit: number; data?: Record<string, unknown>}
}

export function writeJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n')
}

export function printError(report: ErrorReport, json: boolean): void {
  if (json) {
    const envelope: ErrorEnvelope = {error: {code: report.code, message: report.message, exit: report.exit}}
    if (report.data) envelope.error.data = report.data
    writeJson(envelope)
  } else {
    process.stderr.write(`${colors().err.red('razorfs:')} ${report.message}\n`)
  }
}

/** Whether argv asks for --json or --debug (before any '--'), for errors raised before flags are parsed. */
export function hasFlag(argv: readonly string[], flag: '--json' | '--debug'): boolean {
  const end = argv.indexOf('--')
  return argv.slice(0, end === -1 ? undefined : end).includes(flag)
}
