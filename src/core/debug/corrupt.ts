/**
 * The corruption generator behind `razorfs corrupt`: one precise, named
 * damage to an image, so users can test repair pipelines the way the test
 * suite does (the role of e2fsprogs' f_* images and btrfs-corrupt-block).
 * Item-level kinds edit the tree through the library (the image stays
 * well-formed, only inconsistent); block-level kinds write raw bytes.
 * The kinds live in corrupt/, one file per thing damaged; this file lists
 * them in order and applies one.
 */
import crypto from 'node:crypto'
import {fail} from '../errors.js'
import {STORAGE_BLOCKS, extentRecord} from '../format/extent.js'
import {inodeRecord, ROOT_INO} from '../format/inode.js'
import {ItemType, MAX_KEY} from '../format/keys.js'
import {isLeaf} from '../format/node.js'
import {Image} from '../image/image.js'
import {BLOCK_KINDS, RANDOM_KINDS} from './corrupt/block-kinds.js'
import {DIRECTORY_KINDS} from './corrupt/directory-kinds.js'
import {dataFiles, EXTENT_KINDS, FREE_SPACE_KINDS, PACK_KINDS} from './corrupt/extent-kinds.js'
import {INODE_KINDS, XATTR_KINDS} from './corrupt/inode-kinds.js'
import {JOURNAL_KINDS, tearNextCommit} from './corrupt/journal-kinds.js'
import type {CorruptOptions, CorruptResult, Kind, RawInfo} from './corrupt/types.js'

export type {CorruptOptions, CorruptResult} from './corrupt/types.js'

export const CORRUPTIONS: readonly Kind[] = [
  ...BLOCK_KINDS,
  ...JOURNAL_KINDS,
  ...DIRECTORY_KINDS,
  ...INODE_KINDS,
  ...EXTENT_KINDS,
  ...PACK_KINDS,
  ...XATTR_KINDS,
  ...FREE_SPACE_KINDS,
  ...RANDOM_KINDS,
]

function rawInfo(path: string): RawInfo {
  const img = Image.open(path)
  try {
    const v = img.volume
    const leaves: number[] = []
    const interior: number[] = []
    v.tree.walk((n) => (isLeaf(n) ? leaves : interior).push(n.block))
    const dataBlocks: RawInfo['dataBlocks'] = []
    for (const [k, raw] of v.tree.range({objectid: 0, type: 0, offset: 0}, MAX_KEY))
      if (k.type === ItemType.EXTENT && raw[extentRecord.offsets.storage] === STORAGE_BLOCKS)
        dataBlocks.push({ino: k.objectid, block: extentRecord.decode(raw).block})
    const i = img.info()
    return {
      blockSize: i.blockSize,
      blocks: i.blocks,
      treeRoot: i.layout.treeRoot,
      treeHeight: i.layout.treeHeight,
      bitmapStart: i.layout.bitmapStart,
      journalStart: i.layout.journalStart,
      leaves,
      interior,
      dataBlocks,
    }
  } finally {
    img.close()
  }
}

/** Apply one named corruption to an image. */
export function corrupt(path: string, kindName: string, opts: CorruptOptions = {}): CorruptResult {
  const kind = CORRUPTIONS.find((k) => k.name === kindName)
  if (!kind) throw fail('EINVAL', `unknown corruption '${kindName}'; 'razorfs corrupt --list' shows the kinds`)
  const seed = opts.seed ?? 1
  let state = crypto.createHash('sha256').update(`razorfs-corrupt:${kindName}:${seed}`).digest()
  let at = 0
  const rand = (n: number): number => {
    if (at + 4 > state.length) {
      state = crypto.createHash('sha256').update(state).digest()
      at = 0
    }
    const x = state.readUInt32LE(at)
    at += 4
    return n <= 1 ? 0 : x % n
  }
  if ('raw' in kind) return {kind: kindName, ...kind.raw(path, rawInfo(path), rand)}
  const img = Image.open(path, {readOnly: false})
  const v = img.volume
  const pick = (want: 'file' | 'dir' | 'data' | 'any'): number => {
    if (opts.target !== undefined) return typeof opts.target === 'number' ? opts.target : img.resolve(opts.target)
    const all: number[] = []
    for (const [k, raw] of v.tree.range({objectid: 0, type: 0, offset: 0}, MAX_KEY)) {
      if (k.type !== ItemType.INODE || k.objectid === ROOT_INO) continue
      const mode = raw.readUInt32LE(inodeRecord.offsets.mode) & 0o170000
      if (
        want === 'dir' ? mode === 0o040000 : want === 'file' ? mode === 0o100000 : want === 'any' || mode === 0o100000
      )
        all.push(k.objectid)
    }
    const pool = want === 'data' ? dataFiles({img, v, rand, target: pick}) : all
    if (!pool.length)
      throw fail('EINVAL', `the image has no ${want === 'data' ? 'file with data in blocks' : want} to damage`)
    return pool[rand(pool.length)]!
  }
  let r: Omit<CorruptResult, 'kind'> & {crash?: 'torn' | 'clean'}
  try {
    r = kind.item({img, v, rand, target: pick}) as typeof r
  } catch (e) {
    img.abandon() // nothing half-done is committed; the lock goes
    throw e
  }
  const crash = r.crash
  delete r.crash
  if (crash) {
    // leave the image as a crash does: for 'torn', half-log one more transaction first
    if (crash === 'torn') tearNextCommit(img)
    img.abandon()
  } else img.close()
  return {kind: kindName, ...r}
}
