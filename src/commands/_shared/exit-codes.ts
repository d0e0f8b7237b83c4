/**
 * Exit statuses of every razorfs command except fsck (which follows fsck(8)).
 * This table is the single source for the code, the help text and the man pages.
 */

export const EXIT = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  BAD_IMAGE: 3,
  HOST_IO: 4,
} as const

export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/** One row of an EXIT STATUS section. */
export interface ExitStatusRow {
  code: number
  meaning: string
}

export const EXIT_STATUS: readonly ExitStatusRow[] = [
  {code: EXIT.OK, meaning: 'Success.'},
  {
    code: EXIT.FAILED,
    meaning: 'The operation failed: a path is missing, already exists or is not a directory, the image is full, ...',
  },
  {code: EXIT.USAGE, meaning: 'Usage error: unknown or bad flags or arguments.'},
  {
    code: EXIT.BAD_IMAGE,
    meaning:
      'The image cannot be used: not a RAZORFS image, unsupported version or features, truncated, checksum mismatch or corrupt.',
  },
  {
    code: EXIT.HOST_IO,
    meaning: 'Host I/O error: a file on the host could not be read or written (the message names it).',
  },
]

/** The table as plain text, for --help. */
export function formatExitStatus(rows: readonly ExitStatusRow[] = EXIT_STATUS): string {
  return rows.map((r) => `${String(r.code).padStart(2)}  ${r.meaning}`).join('\n')
}
