/**
 * Pass 6: extended attributes. Every xattr item decodes; every name has a
 * known namespace and is stored under its hash; a value in blocks lies in the
 * data area (pass 3 owned the blocks of those that do).
 */
import {nameHash} from '../../format/keys.js'
import {XATTR_NAMESPACES} from '../../fs/xattrs.js'
import type {CheckContext} from './context.js'

export function xattrsPass(c: CheckContext): void {
  const {report} = c
  const {geo} = c.v
  for (const {ino, hash, list} of c.xattrs) {
    if (!list) {
      report('XATTR_BAD', {ino, detail: 'item malformed'})
      continue
    }
    for (const x of list) {
      const name = x.name.toString('utf8')
      if (!XATTR_NAMESPACES.some((ns) => name.startsWith(ns)))
        report('XATTR_BAD', {ino, detail: `'${name}' has no known namespace`})
      if (nameHash(x.name) !== hash) report('XATTR_BAD', {ino, detail: `'${name}' stored under the wrong hash`})
      if (x.block !== undefined) {
        const n = Math.ceil(x.valueLen / geo.blockSize)
        if (x.block < geo.firstFree || x.block + n > geo.backupSuperblock)
          report('XATTR_BAD', {ino, detail: `'${name}' value outside the data area`})
      }
    }
  }
}
