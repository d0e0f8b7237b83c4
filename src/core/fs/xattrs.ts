/**
 * Extended attributes as XATTR items keyed by name hash (FORMAT.md §11).
 * Values longer than the inline limit go to their own blocks.
 */
import {fail} from '../errors.js'
import {crc32} from '../format/checksum.js'
import {maxInline} from '../format/extent.js'
import type {InodeRecord} from '../format/inode.js'
import {ItemType, nameHash, type Key} from '../format/keys.js'
import {decodeXattrs, encodeXattrs, type XattrRecord} from '../format/xattr.js'
import type {Volume} from './volume.js'

export const XATTR_NAMESPACES = ['user.', 'trusted.', 'security.', 'system.'] as const
export const XATTR_NAME_MAX = 255
export const XATTR_VALUE_MAX = 65536

const xattrKey = (ino: number, hash: number): Key => ({objectid: ino, type: ItemType.XATTR, offset: hash})

export function validXattrName(name: string): Buffer {
  const b = Buffer.from(name, 'utf8')
  if (!XATTR_NAMESPACES.some((ns) => name.startsWith(ns) && name.length > ns.length))
    throw fail('EINVAL', `xattr name '${name}' must start with user., trusted., security. or system.`)
  if (b.length > XATTR_NAME_MAX) throw fail('ERANGE', `xattr name of ${b.length} bytes exceeds ${XATTR_NAME_MAX}`)
  if (b.includes(0)) throw fail('EINVAL', 'xattr name contains NUL')
  return b
}

function bucket(v: Volume, ino: number, hash: number): XattrRecord[] {
  const raw = v.tree.get(xattrKey(ino, hash))
  if (!raw) return []
  const list = decodeXattrs(raw)
  if (!list) throw fail('ECORRUPT', `inode ${ino}: malformed xattr item`, {ino})
  return list
}

function externalBlocks(v: Volume, x: XattrRecord): number {
  return x.block === undefined ? 0 : Math.ceil(x.valueLen / v.geo.blockSize)
}

function checkExternal(v: Volume, ino: number, x: XattrRecord): void {
  const n = externalBlocks(v, x)
  if (x.block! < v.geo.firstFree || x.block! + n > v.geo.backupSuperblock || x.valueLen <= maxInline(v.geo.blockSize))
    throw fail('ECORRUPT', `inode ${ino}: xattr '${x.name}' points outside the data area`, {ino})
}

function valueOf(v: Volume, ino: number, x: XattrRecord): Buffer {
  if (x.block === undefined) return x.value!
  checkExternal(v, ino, x)
  v.data.drain()
  const val = v.dev.read(x.block * v.geo.blockSize, x.valueLen)
  if (crc32(val) !== x.crc)
    throw fail('ECHECKSUM', `inode ${ino}: xattr '${x.name}' checksum mismatch at block ${x.block}`, {
      ino,
      block: x.block,
    })
  return val
}

export function listXattrNames(v: Volume, ino: number): string[] {
  const out: string[] = []
  for (const [, raw] of v.tree.range(xattrKey(ino, 0), {objectid: ino, type: ItemType.XATTR + 1, offset: 0})) {
    const list = decodeXattrs(raw)
    if (!list) throw fail('ECORRUPT', `inode ${ino}: malformed xattr item`, {ino})
    for (const x of list) out.push(x.name.toString('utf8'))
  }
  return out.sort()
}

export function getXattrValue(v: Volume, ino: number, name: string): Buffer {
  const b = validXattrName(name)
  const x = bucket(v, ino, nameHash(b)).find((e) => e.name.equals(b))
  if (!x) throw fail('ENODATA', `no attribute '${name}'`, {ino})
  return valueOf(v, ino, x)
}

export function setXattrValue(v: Volume, ino: number, rec: InodeRecord, name: string, value: Buffer): void {
  const b = validXattrName(name)
  if (value.length > XATTR_VALUE_MAX)
    throw fail('ERANGE', `xattr value of ${value.length} bytes exceeds ${XATTR_VALUE_MAX}`)
  const h = nameHash(b)
  const list = bucket(v, ino, h)
  const i = list.findIndex((e) => e.name.equals(b))
  let entry: XattrRecord
  if (value.length > maxInline(v.geo.blockSize)) {
    const n = Math.ceil(value.length / v.geo.blockSize)
    const run = v.alloc.alloc(n, n)
    const padded = Buffer.alloc(n * v.geo.blockSize)
    value.copy(padded)
    v.data.write(run.start * v.geo.blockSize, padded)
    rec.allocBlocks += n
    entry = {name: b, valueLen: value.length, block: run.start, crc: crc32(value)}
  } else {
    entry = {name: b, valueLen: value.length, value: Buffer.from(value)}
  }
  if (i >= 0) {
    freeExternal(v, rec, list[i]!)
    list[i] = entry
  } else list.push(entry)
  v.tree.put(xattrKey(ino, h), encodeXattrs(list))
}

function freeExternal(v: Volume, rec: InodeRecord, x: XattrRecord): void {
  const n = externalBlocks(v, x)
  if (n) {
    v.alloc.free(x.block!, n)
    rec.allocBlocks -= n
  }
}

export function removeXattrValue(v: Volume, ino: number, rec: InodeRecord, name: string): void {
  const b = validXattrName(name)
  const h = nameHash(b)
  const list = bucket(v, ino, h)
  const i = list.findIndex((e) => e.name.equals(b))
  if (i < 0) throw fail('ENODATA', `no attribute '${name}'`, {ino})
  freeExternal(v, rec, list[i]!)
  list.splice(i, 1)
  if (list.length) v.tree.put(xattrKey(ino, h), encodeXattrs(list))
  else v.tree.delete(xattrKey(ino, h))
}

/** Remove every xattr of an inode (when it is deleted). */
export function freeXattrs(v: Volume, ino: number, rec: InodeRecord): void {
  const items = [...v.tree.range(xattrKey(ino, 0), {objectid: ino, type: ItemType.XATTR + 1, offset: 0})]
  for (const [k, raw] of items) {
    for (const x of decodeXattrs(raw) ?? []) freeExternal(v, rec, x)
    v.tree.delete(k)
  }
}
