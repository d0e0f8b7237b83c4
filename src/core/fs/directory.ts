/**
 * Directory entries as DIRENT items keyed by name hash (FORMAT.md §8).
 */
import {fail} from '../errors.js'
import {decodeDirents, encodeDirents, ftypeName, type DirentRecord} from '../format/dirent.js'
import {ItemType, nameHash, type Key} from '../format/keys.js'
import type {DirEntry} from '../types.js'
import type {Volume} from './volume.js'

export const direntKey = (dir: number, hash: number): Key => ({objectid: dir, type: ItemType.DIRENT, offset: hash})

export const NAME_MAX = 255

/** Check a name for a directory entry: 1–255 bytes, no '/', no NUL, not '.' or '..'. */
export function validName(name: Buffer): Buffer {
  if (name.length === 0) throw fail('EINVAL', 'empty file name')
  if (name.length > NAME_MAX) throw fail('ENAMETOOLONG', `file name of ${name.length} bytes exceeds ${NAME_MAX}`)
  if (name.includes(0x2f) || name.includes(0)) throw fail('EINVAL', `file name contains '/' or NUL`)
  if (name.equals(DOT) || name.equals(DOTDOT)) throw fail('EINVAL', `'${name}' cannot be a file name`)
  return name
}
const DOT = Buffer.from('.')
const DOTDOT = Buffer.from('..')

function bucket(v: Volume, dir: number, hash: number): DirentRecord[] {
  const raw = v.tree.get(direntKey(dir, hash))
  if (!raw) return []
  const list = decodeDirents(raw)
  if (!list) throw fail('ECORRUPT', `directory ${dir}: malformed entry item ${hash}`, {ino: dir})
  return list
}

export function lookupEntry(v: Volume, dir: number, name: Buffer): DirentRecord | undefined {
  return bucket(v, dir, nameHash(name)).find((e) => e.name.equals(name))
}

export function addEntry(v: Volume, dir: number, name: Buffer, ino: number, ftype: number): void {
  const h = nameHash(name)
  const list = bucket(v, dir, h)
  if (list.some((e) => e.name.equals(name))) throw fail('EEXIST', `'${name}' exists`, {ino: dir})
  list.push({ino, ftype, name})
  v.tree.put(direntKey(dir, h), encodeDirents(list))
}

export function removeEntry(v: Volume, dir: number, name: Buffer): DirentRecord {
  const h = nameHash(name)
  const list = bucket(v, dir, h)
  const i = list.findIndex((e) => e.name.equals(name))
  if (i < 0) throw fail('ENOENT', `'${name}' not found`, {ino: dir})
  const [gone] = list.splice(i, 1)
  if (list.length) v.tree.put(direntKey(dir, h), encodeDirents(list))
  else v.tree.delete(direntKey(dir, h))
  return gone!
}

/** Point an existing entry at another inode (rename over an existing name). */
export function replaceEntry(v: Volume, dir: number, name: Buffer, ino: number, ftype: number): void {
  const h = nameHash(name)
  const list = bucket(v, dir, h)
  const e = list.find((x) => x.name.equals(name))
  if (!e) throw fail('ENOENT', `'${name}' not found`, {ino: dir})
  e.ino = ino
  e.ftype = ftype
  v.tree.put(direntKey(dir, h), encodeDirents(list))
}

/** All entries of a directory, in hash order. */
export function listEntries(v: Volume, dir: number): DirEntry[] {
  const out: DirEntry[] = []
  for (const [k, raw] of v.tree.range(direntKey(dir, 0), {objectid: dir, type: ItemType.DIRENT + 1, offset: 0})) {
    const list = decodeDirents(raw)
    if (!list) throw fail('ECORRUPT', `directory ${dir}: malformed entry item ${k.offset}`, {ino: dir})
    for (const e of list) {
      const type = ftypeName(e.ftype)
      if (!type) throw fail('ECORRUPT', `directory ${dir}: entry '${e.name}' has invalid type ${e.ftype}`, {ino: dir})
      out.push({name: e.name, ino: e.ino, type})
    }
  }
  return out
}

export function isEmptyDir(v: Volume, dir: number): boolean {
  for (const _ of v.tree.range(direntKey(dir, 0), {objectid: dir, type: ItemType.DIRENT + 1, offset: 0})) return false
  return true
}
