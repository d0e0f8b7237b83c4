/** Paths as bytes (names in an image need not be UTF-8): split into components and joined again. */

const SLASH = 0x2f
const DOT = 0x2e

/**
 * The components of `p`, leaving out empty ones (repeated, leading or
 * trailing '/') and '.'; undefined when one of them is '..'.
 */
export function pathParts(p: Buffer): Buffer[] | undefined {
  const parts: Buffer[] = []
  let s = 0
  for (let i = 0; i <= p.length; i++) {
    if (i !== p.length && p[i] !== SLASH) continue
    const part = p.subarray(s, i)
    s = i + 1
    if (part.length === 0 || (part.length === 1 && part[0] === DOT)) continue
    if (part.length === 2 && part[0] === DOT && part[1] === DOT) return undefined
    parts.push(part)
  }
  return parts
}

/** Components joined with '/' (no leading or trailing '/'). */
export function joinParts(parts: Buffer[]): Buffer {
  return Buffer.concat(parts.flatMap((x, i) => (i ? [Buffer.from('/'), x] : [x])))
}
