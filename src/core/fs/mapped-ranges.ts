/**
 * Walking the data of a file without its holes: the byte ranges its extents
 * hold, in order, asked for batch by batch so that memory stays bounded
 * whatever size the file declares. Every copy out of an image (to the host,
 * to another image, to a stream) and hole counting go through this one loop;
 * it yields positions only, so callers read the bytes into their own buffers
 * (no copy is added).
 */

/** A byte range of a file that an extent holds. */
export interface MappedRange {
  offset: number
  length: number
}

/** What the walk needs of an image: its extents that end after `from`, at most `max` (Image.mappedRanges). */
export interface ExtentSource {
  mappedRanges(ino: number, from?: number, max?: number): ReadonlyArray<{offset: number; length: number}>
}

/**
 * The mapped ranges of file `ino`, clipped to [from, size), in order. Each
 * batch of `batch` extents is fetched when the previous one is used up, so
 * the caller may change the image between two ranges (a copy within one
 * image).
 */
export function* mappedRanges(
  img: ExtentSource,
  ino: number,
  size: number,
  opts: {from?: number; batch?: number} = {},
): Generator<MappedRange, void> {
  let pos = opts.from ?? 0
  const batch = opts.batch ?? 64
  while (pos < size) {
    const extents = img.mappedRanges(ino, pos, batch)
    if (!extents.length) return
    for (const x of extents) {
      const start = Math.max(pos, x.offset)
      const end = Math.min(x.offset + x.length, size)
      pos = Math.max(pos, x.offset + x.length)
      if (end > start) yield {offset: start, length: end - start}
    }
  }
}
