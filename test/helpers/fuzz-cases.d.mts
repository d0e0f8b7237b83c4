// Types for fuzz-cases.mjs (plain JavaScript so bench/fsck-fuzz.mjs can use it without a TypeScript loader).
import type * as Core from '../../src/core/index.js'

export interface FuzzBase {
  path: string
  blockSize: number
  hot?: number[]
  /** A 100% full image (reported in failures). */
  full?: boolean
}
export interface FuzzResult {
  cases: number
  repaired: number
  refused: number
  untouched: number
  failures: string[]
  slowest: number
}
export function nonZeroBlocks(file: string, blockSize: number): number[]
export function damage(file: string, rnd: (n: number) => number, blockSize: number, hot: number[]): string
export function runFuzz(
  core: typeof Core,
  opts: {
    bases: FuzzBase[]
    dir: string
    count: number
    seed: string | number
    timeLimitMs?: number
    onCase?: (i: number, kind: string, report: Core.FsckReport) => void
  },
): FuzzResult
