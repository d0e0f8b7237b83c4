/**
 * The consistency check: every rule of FORMAT.md §13, read-only, as the
 * passes of PASS_TABLE (passes/) over one shared context. Memory grows with
 * the number of inodes and directory entries plus one bit per block, not with
 * the image size in bytes. fsck runs it; the crash-simulation tests run it on
 * every recovered image.
 */
import type {Volume} from '../fs/volume.js'
import {createContext, type CheckContext, type CheckOptions} from './passes/context.js'
import {PASS_TABLE} from './passes/index.js'
import type {Problem} from './problems.js'

export type {CheckOptions} from './passes/context.js'

export interface CheckResult {
  problems: Problem[]
  inodes: number
  directories: number
  files: number
  usedBlocks: number
  blocks: number
}

/** Run every pass of the table; the context holds what they found (repair reads it). */
export function runPasses(v: Volume, opts: CheckOptions = {}): CheckContext {
  const c = createContext(v, opts)
  for (const p of PASS_TABLE) {
    if (p.when && !p.when(c)) continue
    opts.onPass?.(p.name)
    p.run(c)
  }
  return c
}

export function checkVolume(v: Volume, opts: CheckOptions = {}): CheckResult {
  const c = runPasses(v, opts)
  return {
    problems: c.problems,
    inodes: c.inodes.size,
    directories: c.directories,
    files: c.files,
    usedBlocks: c.usedBlocks,
    blocks: v.geo.blockCount,
  }
}
