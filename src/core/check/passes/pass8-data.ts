/** Pass 8 (--check-data): every extent's and every packed slice's data against its checksum. */
import {isRazorError} from '../../errors.js'
import {loadExtent} from '../../fs/extents.js'
import {loadSlice} from '../../fs/packs.js'
import type {CheckContext} from './context.js'

export function dataPass(c: CheckContext): void {
  const {v, report} = c
  for (const {ino, e} of c.extents) {
    try {
      loadExtent(v, ino, e)
    } catch (err) {
      if (!isRazorError(err)) throw err
      report('DATA_CHECKSUM', {ino, found: e.offset, block: e.rec.block})
    }
  }
  for (const r of c.packedRefs) {
    try {
      loadSlice(v, r.ino, r.offset, r.block, r.start, r.length, r.crc)
    } catch (err) {
      if (!isRazorError(err)) throw err
      report('DATA_CHECKSUM', {ino: r.ino, found: r.offset, block: r.block})
    }
  }
}
