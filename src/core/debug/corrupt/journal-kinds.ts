/** Journal kinds: an image left as a crash leaves it, torn or with transactions not yet home. */
import {blockHeader, HEADER_SIZE} from '../../format/header.js'
import {ROOT_INO} from '../../format/inode.js'
import {commitBody, JournalBlockType} from '../../format/journal.js'
import type {Image} from '../../image/image.js'
import type {CorruptResult, Kind} from './types.js'

export const JOURNAL_KINDS: readonly Kind[] = [
  {
    name: 'torn-journal',
    about: 'leave the image needing recovery with a torn last transaction',
    item: (c) => {
      const f = c.img.create(ROOT_INO, `torn-${c.rand(1e6)}`, {})
      c.img.write(f, 0, Buffer.from('committed'))
      c.img.flush()
      c.img.create(ROOT_INO, `never-${c.rand(1e6)}`, {})
      return {
        description: 'committed one file, then crashed with a second one half-logged',
        ino: f,
        crash: 'torn',
      } as Omit<CorruptResult, 'kind'>
    },
  },
  {
    name: 'journal-replay-needed',
    about: 'leave committed transactions in the journal, not yet home (a crash after commit)',
    item: (c) => {
      const f = c.img.create(ROOT_INO, `pending-${c.rand(1e6)}`, {})
      c.img.write(f, 0, Buffer.from('in the journal only'))
      c.img.flush()
      return {description: 'committed a file and crashed before the checkpoint', ino: f, crash: 'clean'} as Omit<
        CorruptResult,
        'kind'
      >
    },
  },
]

/** Commit the running transaction, then overwrite its commit block: a torn last transaction. */
export function tearNextCommit(img: Image): void {
  const v = img.volume
  img.flush()
  const bs = v.geo.blockSize
  let last = -1
  let seq = -1
  for (let i = 0; i < v.geo.journalBlocks; i++) {
    const b = v.dev.read((v.geo.journalStart + i) * bs, bs)
    if (b.readUInt16LE(blockHeader.offsets.type) !== JournalBlockType.COMMIT) continue
    const s = b.readUInt32LE(HEADER_SIZE + commitBody.offsets.seq) // the low half: sequences stay far below 2^32 here
    if (s > seq) {
      seq = s
      last = i
    }
  }
  if (last < 0) return
  const pos = (v.geo.journalStart + last) * bs
  const b = v.dev.read(pos, bs)
  b.fill(0x5a, HEADER_SIZE + commitBody.offsets.treeRoot) // keep seq, blocks and flags; scribble over the rest
  v.dev.write(pos, b)
  v.dev.flush()
}
