/** Small shared facts about space and compression, as dump and mkfs show them. */

/** data / stored, or 1 when nothing is stored (the core's, as mkfs's result has it). */
export {compressionRatio as ratio} from '../../core/index.js'

export function compressionName(c: {algorithm: 'none' | 'zstd'; level: number}): string {
  return c.algorithm === 'none' ? 'none' : `${c.algorithm} level ${c.level}`
}
