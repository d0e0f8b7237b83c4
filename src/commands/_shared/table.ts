/** Plain-text layout: aligned columns and "Key: value" blocks. */

export type Align = 'left' | 'right'

/** Pad cells so columns line up; the last column is never padded. */
export function columns(rows: readonly (readonly string[])[], align: readonly Align[], gap = ' '): string[] {
  const widths: number[] = []
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)))
  return rows.map((row) =>
    row
      .map((cell, i) => {
        if (i === row.length - 1 && align[i] !== 'right') return cell
        const fill = ' '.repeat(widths[i] - [...cell].length)
        return align[i] === 'right' ? fill + cell : cell + fill
      })
      .join(gap),
  )
}

/** "Key:      value" lines with values aligned. */
export function keyValues(pairs: readonly (readonly [string, string | number])[]): string[] {
  const width = Math.max(0, ...pairs.map(([k]) => k.length + 1))
  return pairs.map(([k, v]) => `${(k + ':').padEnd(width)}  ${v}`)
}
