/** Pass 7: free space — the bitmap against the blocks pass 2 and 3 found owned, and the free block count. */
import {isRazorError} from '../../errors.js'
import {isFixedBlock} from '../../format/geometry.js'
import type {CheckContext} from './context.js'

export function spacePass(c: CheckContext): void {
  const {v, report} = c
  const {geo} = v
  let used = 0
  let strayCount = 0
  let strayFirst = -1
  const badMaps = new Set<number>()
  const per = (geo.blockSize - 48) * 8
  for (let b = 0; b < geo.blockCount; b++) {
    const own = isFixedBlock(geo, b) || c.isOwned(b)
    let marked: boolean
    const m = Math.floor(b / per)
    if (badMaps.has(m)) marked = own
    else {
      try {
        marked = v.alloc.isUsed(b)
      } catch (e) {
        if (!isRazorError(e)) throw e
        badMaps.add(m)
        report('BITMAP_BAD', {block: geo.bitmapStart + m, detail: e.message})
        marked = own
      }
    }
    if (marked) used++
    if (own && !marked) report('BLOCK_USED_NOT_MARKED', {block: b})
    else if (!own && marked) {
      strayCount++
      if (strayFirst < 0) strayFirst = b
    }
  }
  if (strayCount) report('BLOCK_MARKED_NOT_USED', {found: strayCount, block: strayFirst})
  const free = geo.blockCount - used
  if (v.alloc.freeBlocks !== free && !badMaps.size)
    report('SB_COUNT_WRONG', {detail: 'free block count', found: v.alloc.freeBlocks, expected: free})
  c.usedBlocks = used
}
