/**
 * Sizes on the command line: a number of bytes with an optional binary unit
 * (K, M, G, T, P; also KiB/KB..., all meaning powers of 1024), e.g. 123, 64K, 512M, 10G, 16T.
 */
import {UsageError} from './errors.js'

export const SIZE_SYNTAX =
  'a number of bytes with an optional binary unit suffix K, M, G, T or P (powers of 1024; KiB and KB are accepted too), e.g. 4096, 64K, 512M, 10G'

const UNITS: Record<string, number> = {'': 0, K: 1, M: 2, G: 3, T: 4, P: 5}

/** Parse a size; throws UsageError naming the text when it is not one. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*$/i.exec(text)
  if (!m) throw new UsageError(`'${text}' is not a size; use ${SIZE_SYNTAX}`)
  const [, num, unit] = m
  const value = Number(num) * 1024 ** UNITS[unit.toUpperCase()]
  if (!Number.isSafeInteger(value)) {
    throw new UsageError(
      Number.isInteger(value) ? `'${text}' is too large` : `'${text}' is not a whole number of bytes`,
    )
  }
  return value
}

/** A size, or the word 'auto'. */
export function parseSizeOrAuto(text: string): number | 'auto' {
  return text.trim().toLowerCase() === 'auto' ? 'auto' : parseSize(text)
}

const SUFFIXES = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']

/** Human-readable size: "512 B", "1.5 KiB", "10.0 GiB". */
export function formatBytes(bytes: number): string {
  let value = bytes
  let i = 0
  while (Math.abs(value) >= 1024 && i < SUFFIXES.length - 1) {
    value /= 1024
    i++
  }
  return i === 0 ? `${bytes} B` : `${value.toFixed(1)} ${SUFFIXES[i]}`
}
