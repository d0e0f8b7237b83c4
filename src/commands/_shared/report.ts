/**
 * The one JSON envelope every command prints under --json (docs/json-envelope.schema.json), and the one-line
 * error report on stderr otherwise.
 */
import type {ErrorReport} from './errors.js'
import {colors} from './terminal.js'

/** A warning: what was skipped or changed while the command still did its job. */
export interface Warning {
  message: string
  /** A stable code for the kind of warning: an error code (ENOENT, ...) or a warning name (TAR_SKIPPED, ...). */
  code?: string
  /** The path it is about, when there is one. */
  path?: string
}

/** Printed on stdout under --json when the command ran to its end (its exit status may still be non-zero). */
export interface SuccessEnvelope {
  status: 'ok'
  exit: number
  result: unknown
  warnings: Warning[]
}

/** Printed on stdout under --json when the command failed. */
export interface ErrorEnvelope {
  status: 'error'
  exit: number
  error: {code: string; message: string; exit: number; data?: Record<string, unknown>}
  warnings: Warning[]
}

export type Envelope = SuccessEnvelope | ErrorEnvelope

export function successEnvelope(result: unknown, exit: number, warnings: readonly Warning[]): SuccessEnvelope {
  return {status: 'ok', exit, result: result ?? null, warnings: [...warnings]}
}

export function errorEnvelope(report: ErrorReport, warnings: readonly Warning[]): ErrorEnvelope {
  const error: ErrorEnvelope['error'] = {code: report.code, message: report.message, exit: report.exit}
  if (report.data) error.data = report.data
  return {status: 'error', exit: report.exit, error, warnings: [...warnings]}
}

export function writeJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n')
}

/** The error as one line on stderr, or (json) as the error envelope on stdout. */
export function printError(report: ErrorReport, json: boolean, warnings: readonly Warning[] = []): void {
  if (json) writeJson(errorEnvelope(report, warnings))
  else process.stderr.write(`${colors().err.red('razorfs:')} ${report.message}\n`)
}

/** Whether argv asks for --json or --debug (before any '--'), for errors raised before flags are parsed. */
export function hasFlag(argv: readonly string[], flag: '--json' | '--debug'): boolean {
  const end = argv.indexOf('--')
  return argv.slice(0, end === -1 ? undefined : end).includes(flag)
}
