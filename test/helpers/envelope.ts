/**
 * Reading `--json` output: every command prints one envelope (docs/json-envelope.schema.json),
 * `{status: 'ok', exit, result, warnings}` or `{status: 'error', exit, error, warnings}`.
 */

export interface Warning {
  message: string
  code?: string
  path?: string
}

export interface ErrorBody {
  code: string
  message: string
  exit: number
  data?: Record<string, unknown>
}

export type Envelope<R = unknown> =
  | {status: 'ok'; exit: number; result: R; warnings: Warning[]}
  | {status: 'error'; exit: number; error: ErrorBody; warnings: Warning[]}

/** The envelope printed on stdout (throws, naming the output, when stdout is not one). */
export function envelope<R = unknown>(stdout: string): Envelope<R> {
  let v: Envelope<R>
  try {
    v = JSON.parse(stdout) as Envelope<R>
  } catch {
    throw new Error(`stdout is not JSON: ${JSON.stringify(stdout.slice(0, 300))}`)
  }
  if (v === null || typeof v !== 'object' || (v.status !== 'ok' && v.status !== 'error'))
    throw new Error(`stdout is not a razorfs JSON envelope: ${stdout.slice(0, 300)}`)
  return v
}

/** The result of a command that ran to its end (throws, with the error, when it failed). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read fields of many shapes, as JSON.parse lets them
export function jsonResult<R = any>(stdout: string): R {
  const v = envelope<R>(stdout)
  if (v.status !== 'ok') throw new Error(`the command failed: ${v.error.code}: ${v.error.message}`)
  return v.result
}

/** The error of a command that failed (throws when it succeeded). */
export function jsonError(stdout: string): ErrorBody {
  const v = envelope(stdout)
  if (v.status !== 'error') throw new Error(`the command did not fail: ${stdout.slice(0, 300)}`)
  return v.error
}
