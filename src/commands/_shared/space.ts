/** Small shared facts about space and compression, as dump and mkfs show them. */

/** data / stored, or 1 when nothing is stored. */
export function ratio(dataBytes: number, storedBytes: number): number {
  return storedBytes > 0 ? dataBytes / storedBytes : 1
}

export function compressionName(c: {algorithm: 'none' | 'zstd'; level: number}): string {
  return c.algorithm === 'none' ? 'none' : `${c.algorithm} level ${c.level}`
}
