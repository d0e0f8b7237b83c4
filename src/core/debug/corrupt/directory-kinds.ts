/** Directory kinds: entries naming the wrong inode, type or hash, and directories detached, doubled or looped. */
import {addEntry, direntKey, removeEntry} from '../../fs/directory.js'
import {fail} from '../../errors.js'
import {decodeDirents, encodeDirents, ftypeCode} from '../../format/dirent.js'
import {ROOT_INO} from '../../format/inode.js'
import {ItemType, MAX_KEY, nameHash} from '../../format/keys.js'
import {inodeItem} from './edit.js'
import type {Ctx, Kind} from './types.js'

export const DIRECTORY_KINDS: readonly Kind[] = [
  {
    name: 'dirent-to-missing',
    about: 'add a directory entry naming an inode that does not exist',
    item: (c) => {
      const d = c.target('dir')
      addEntry(c.v, d, Buffer.from('ghost'), c.v.sb.nextIno + 100, ftypeCode('file'))
      return {description: `entry 'ghost' in directory ${d} names inode ${c.v.sb.nextIno + 100}`, ino: d}
    },
  },
  {
    name: 'dirent-wrong-type',
    about: 'give a directory entry the wrong file type',
    item: (c) => {
      const f = c.target('file')
      const {dir, name} = nameOf(c, f)
      removeEntry(c.v, dir, name)
      addEntry(c.v, dir, name, f, ftypeCode('fifo'))
      return {description: `entry '${name}' of inode ${f} typed fifo`, ino: f}
    },
  },
  {
    name: 'dirent-bad-name',
    about: "add an entry named '..'",
    item: (c) => {
      const f = c.target('file')
      c.v.tree.put(
        direntKey(ROOT_INO, nameHash(Buffer.from('..'))),
        encodeDirents([{ino: f, ftype: ftypeCode('file'), name: Buffer.from('..')}]),
      )
      return {description: `entry '..' in / naming inode ${f}`, ino: ROOT_INO}
    },
  },
  {
    name: 'dirent-wrong-hash',
    about: 'store an entry under another name hash',
    item: (c) => {
      const f = c.target('file')
      const {dir, name} = nameOf(c, f)
      removeEntry(c.v, dir, name)
      c.v.tree.put(direntKey(dir, 12345), encodeDirents([{ino: f, ftype: ftypeCode('file'), name}]))
      return {description: `entry '${name}' stored under hash 12345`, ino: f}
    },
  },
  {
    name: 'dir-linked-twice',
    about: 'give a directory a second name',
    item: (c) => {
      const d = c.target('dir')
      addEntry(c.v, ROOT_INO, Buffer.from('second-name'), d, ftypeCode('dir'))
      return {description: `directory ${d} also named /second-name`, ino: d}
    },
  },
  {
    name: 'dir-parent-wrong',
    about: "point a directory's '..' elsewhere",
    item: (c) => {
      const d = c.target('dir')
      inodeItem(c, d, (r) => (r.parent = d))
      return {description: `'..' of directory ${d} set to itself`, ino: d}
    },
  },
  {
    name: 'dir-cycle',
    about: 'move a directory inside itself, detaching it from the tree',
    item: (c) => {
      const d = c.target('dir')
      const {dir, name} = nameOf(c, d)
      removeEntry(c.v, dir, name)
      addEntry(c.v, d, Buffer.from('loop'), d, ftypeCode('dir'))
      return {description: `directory ${d} removed from ${dir} and named inside itself`, ino: d}
    },
  },
  {
    name: 'unreachable-file',
    about: "remove a file's only directory entry, keeping the inode",
    item: (c) => {
      const f = c.target('file')
      const {dir, name} = nameOf(c, f)
      removeEntry(c.v, dir, name)
      return {description: `removed entry '${name}' of inode ${f}`, ino: f}
    },
  },
  {
    name: 'unreachable-dir',
    about: "remove a directory's entry, keeping the directory",
    item: (c) => {
      const d = c.target('dir')
      const {dir, name} = nameOf(c, d)
      removeEntry(c.v, dir, name)
      return {description: `removed entry '${name}' of directory ${d}`, ino: d}
    },
  },
  {
    name: 'entry-on-file',
    about: 'give a regular file a directory entry item',
    item: (c) => {
      const f = c.target('file')
      c.v.tree.put(
        direntKey(f, nameHash(Buffer.from('x'))),
        encodeDirents([{ino: ROOT_INO, ftype: ftypeCode('dir'), name: Buffer.from('x')}]),
      )
      return {description: `directory entry item on file ${f}`, ino: f}
    },
  },
]

function nameOf(c: Ctx, ino: number): {dir: number; name: Buffer} {
  for (const [k, raw] of c.v.tree.range({objectid: 0, type: 0, offset: 0}, MAX_KEY)) {
    if (k.type !== ItemType.DIRENT) continue
    const e = decodeDirents(raw)?.find((d) => d.ino === ino)
    if (e) return {dir: k.objectid, name: e.name}
  }
  throw fail('ENOENT', `inode ${ino} has no name`)
}
