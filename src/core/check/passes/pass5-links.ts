/**
 * Pass 5: link counts and directory sizes, against the entries pass 4
 * counted; and the superblock's inode count and next inode number, now that
 * every inode is known.
 */
import type {CheckContext} from './context.js'

export function linksPass(c: CheckContext): void {
  const {v, report} = c
  for (const [ino, info] of c.inodes) {
    const expected = info.type === 'dir' ? 2 + (c.subdirs.get(ino) ?? 0) : (c.refs.get(ino) ?? 0)
    if (info.nlink !== expected && c.reached.has(ino)) report('NLINK_WRONG', {ino, found: info.nlink, expected})
    if (info.type === 'dir') {
      c.directories++
      const n = c.entryCount.get(ino) ?? 0
      if (info.size !== n) report('DIR_SIZE_WRONG', {ino, found: info.size, expected: n})
    } else c.files++
  }
  if (v.sb.inodeCount !== c.inodes.size)
    report('SB_COUNT_WRONG', {detail: 'inode count', found: v.sb.inodeCount, expected: c.inodes.size})
  if (c.maxIno >= v.sb.nextIno) report('SB_NEXT_INO_LOW', {ino: c.maxIno, found: v.sb.nextIno})
}
