/**
 * Pass 4: directory structure and connectivity. Entries have valid names under
 * their hash and point at live inodes of the right type; the root is a
 * directory; a directory has one name and the right '..'; everything is
 * reachable from the root, without cycles.
 */
import {ftypeName} from '../../format/dirent.js'
import {ROOT_INO} from '../../format/inode.js'
import {nameHash} from '../../format/keys.js'
import type {CheckContext} from './context.js'

const DOT = Buffer.from('.')
const DOTDOT = Buffer.from('..')

export function directoriesPass(c: CheckContext): void {
  const {report, inodes} = c
  for (const {ino, hash, list} of c.direntItems) {
    if (!list) {
      report('ENTRY_ON_NON_DIR', {ino})
      continue
    }
    for (const e of list) {
      if (e.name.includes(0x2f) || e.name.includes(0) || e.name.equals(DOT) || e.name.equals(DOTDOT)) {
        report('DIRENT_BAD_NAME', {ino, name: e.name.toString('utf8')})
        continue
      }
      if (nameHash(e.name) !== hash) report('DIRENT_HASH', {ino, name: e.name.toString('utf8')})
      c.entries.push({dir: ino, name: e.name, ino: e.ino, ftype: e.ftype})
    }
  }
  const root = inodes.get(ROOT_INO)
  if (!root || root.type !== 'dir') report('ROOT_MISSING', {})
  const namedIn = new Map<number, number>()
  const children = new Map<number, number[]>()
  for (const e of c.entries) {
    c.entryCount.set(e.dir, (c.entryCount.get(e.dir) ?? 0) + 1)
    const target = inodes.get(e.ino)
    if (!target) {
      report('DIRENT_TO_MISSING', {ino: e.dir, name: e.name.toString('utf8'), found: e.ino})
      continue
    }
    if (ftypeName(e.ftype) !== target.type)
      report('DIRENT_TYPE', {
        ino: e.dir,
        name: e.name.toString('utf8'),
        found: ftypeName(e.ftype) ?? e.ftype,
        expected: target.type,
      })
    c.refs.set(e.ino, (c.refs.get(e.ino) ?? 0) + 1)
    if (!children.has(e.dir)) children.set(e.dir, [])
    children.get(e.dir)!.push(e.ino)
    if (target.type === 'dir') {
      c.subdirs.set(e.dir, (c.subdirs.get(e.dir) ?? 0) + 1)
      if (e.ino === ROOT_INO || namedIn.has(e.ino))
        report('DIR_MULTIPLY_LINKED', {ino: e.dir, name: e.name.toString('utf8'), found: e.ino})
      else namedIn.set(e.ino, e.dir)
    }
  }
  const reached = c.reached
  reached.add(ROOT_INO)
  const queue = [ROOT_INO]
  while (queue.length) {
    const d = queue.pop()!
    for (const ch of children.get(d) ?? []) {
      if (reached.has(ch)) continue
      reached.add(ch)
      if (inodes.get(ch)?.type === 'dir') queue.push(ch)
    }
  }
  for (const o of c.orphans) if (!inodes.has(o)) report('ITEM_ORPHANED', {ino: o, detail: 'orphan list'})
  for (const [ino, info] of inodes) {
    if (c.orphans.has(ino) && info.nlink === 0) continue
    if (info.type === 'dir') {
      const expectedParent = ino === ROOT_INO ? ROOT_INO : namedIn.get(ino)
      if (expectedParent !== undefined && info.parent !== expectedParent)
        report('DIR_PARENT_WRONG', {ino, found: info.parent, expected: expectedParent})
    }
    if (!reached.has(ino)) {
      let cycle = false
      if (info.type === 'dir') {
        const seen = new Set<number>()
        for (let p: number | undefined = ino; p !== undefined && p !== ROOT_INO; p = namedIn.get(p)) {
          if (seen.has(p)) {
            cycle = true
            break
          }
          seen.add(p)
        }
      }
      report(cycle ? 'DIR_CYCLE' : 'UNREACHABLE', {ino})
    }
  }
}
