/**
 * Times as the format and the host APIs carry them: a Timespec is whole seconds (negative before 1970) and
 * nanoseconds 0..999,999,999; the host gives signed nanosecond counts (BigIntStats, hrtime) and text gives
 * SECONDS.FRACTION (tar's pax records, manifests, touch -d @...).
 */
import type {Timespec} from './types.js'

const NS = 1_000_000_000n

/** A signed nanosecond count as a Timespec (nsec always 0..999,999,999: -0.5 s is {sec: -1, nsec: 5e8}). */
export function timespecFromNs(ns: bigint): Timespec {
  let sec = ns / NS
  let nsec = ns % NS
  if (nsec < 0n) {
    nsec += NS
    sec -= 1n
  }
  return {sec: Number(sec), nsec: Number(nsec)}
}

/** The nanosecond count of a Timespec. */
export function nsFromTimespec(t: Timespec): bigint {
  return BigInt(t.sec) * NS + BigInt(t.nsec)
}

/** Nanoseconds of a fraction's digits ('5' → 500,000,000); digits past the ninth are dropped. */
export function fractionNs(digits: string | undefined): bigint {
  return BigInt((digits ?? '').slice(0, 9).padEnd(9, '0') || '0')
}

/**
 * `[-]SECONDS[.FRACTION]` as a Timespec, or undefined when the text is not that. Fractions longer than
 * `maxFraction` digits are refused (default: any length, digits past the ninth dropped).
 */
export function parseSecondsText(text: string, maxFraction = Infinity): Timespec | undefined {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text)
  if (!m || (m[3] !== undefined && m[3].length > maxFraction)) return undefined
  const ns = BigInt(m[2]!) * NS + fractionNs(m[3])
  return timespecFromNs(m[1] ? -ns : ns)
}
