/**
 * Whole-image operations on a closed, clean image: a digest of its used
 * blocks, and changing its UUID (which every metadata block header
 * carries, FORMAT.md §3). A reproducible mkfs builds with a placeholder UUID
 * and then stamps the one derived from the digest, so the UUID is a function
 * of the image's content and nothing else.
 */
import crypto from 'node:crypto'
import {Allocator} from '../tree/allocator.js'
import {FileDevice, type BlockDevice} from '../io/device.js'
import {fail} from '../errors.js'
import {hasFeature} from '../format/features.js'
import {blockHeader, blockProblem, BlockType, resealBlock} from '../format/header.js'
import {decodeNode, isLeaf} from '../format/node.js'
import {STATE_CLEAN} from '../format/superblock.js'
import {acquireWriterLock} from '../io/lock.js'
import {loadSuperblock} from '../image/superblock.js'

const RUN_LIMIT = 8 * 1024 * 1024
const UUID_OFFSET = blockHeader.offsetOf('uuid')

function openClean(dev: BlockDevice, name: string) {
  const loaded = loadSuperblock(dev, name)
  if (!(loaded.sb.state & STATE_CLEAN) || hasFeature(loaded.sb.incompat, 'needs_recovery'))
    throw fail('EINVAL', `${name} was not closed cleanly; run 'razorfs journal replay' or fsck first`)
  return loaded
}

/**
 * SHA-256 over every block in use except the journal area, in block order
 * (block number, then content), read from the file. Free blocks, which a
 * reader never looks at, do not count.
 */
export function imageDigest(path: string): Buffer {
  const dev = FileDevice.open(path, true)
  try {
    const {sb, uuid, geo} = openClean(dev, path)
    const alloc = new Allocator(dev, geo, uuid, sb.freeBlocks)
    const h = crypto.createHash('sha256')
    const bs = geo.blockSize
    const hashRun = (start: number, n: number) => {
      const head = Buffer.alloc(16)
      head.writeBigUInt64LE(BigInt(start), 0)
      head.writeBigUInt64LE(BigInt(n), 8)
      h.update(head)
      h.update(dev.read(start * bs, n * bs))
    }
    let start = -1
    let n = 0
    const perRun = Math.max(1, Math.floor(RUN_LIMIT / bs))
    for (let b = 0; b < geo.blockCount; b++) {
      const inJournal = b >= geo.journalStart && b < geo.journalStart + geo.journalBlocks
      const used = !inJournal && alloc.isUsed(b)
      if (used && start >= 0 && start + n === b && n < perRun) {
        n++
        continue
      }
      if (start >= 0) hashRun(start, n)
      start = used ? b : -1
      n = used ? 1 : 0
    }
    if (start >= 0) hashRun(start, n)
    return h.digest()
  } finally {
    dev.close()
  }
}

/** A UUID (RFC 9562 version 8, "custom") made from a digest. */
export function uuidFromDigest(digest: Buffer): Buffer {
  const u = Buffer.from(crypto.createHash('sha256').update('razorfs-uuid\0').update(digest).digest().subarray(0, 16))
  u[6] = (u[6]! & 0x0f) | 0x80
  u[8] = (u[8]! & 0x3f) | 0x80
  return u
}

/**
 * Give a clean image a new UUID: every tree node, initialised bitmap block
 * and both superblocks are rewritten with it (and a new CRC). The journal
 * must be empty (nothing to replay); its old blocks, which name the old UUID,
 * can never be taken for transactions of the new one.
 */
export function setImageUuid(path: string, newUuid: Buffer): {blocks: number} {
  if (newUuid.length !== 16) throw fail('EINVAL', 'a UUID is 16 bytes')
  const release = acquireWriterLock(path)
  let opened: FileDevice | undefined
  try {
    const dev = (opened = FileDevice.open(path, false))
    const {sb, uuid, geo} = openClean(dev, path)
    const bs = geo.blockSize
    let blocks = 0
    const patch = (b: number, type: number | number[], level?: number): Buffer => {
      const buf = dev.read(b * bs, bs)
      const problem = blockProblem(buf, {blocknr: b, uuid, type: type as never, level})
      if (problem) throw fail('ECHECKSUM', `${path}: block ${b}: ${problem}`, {block: b})
      const orig = Buffer.from(buf)
      newUuid.copy(buf, UUID_OFFSET)
      resealBlock(buf)
      dev.write(b * bs, buf)
      blocks++
      return orig
    }
    // the tree, top down: a node is decoded (with the old UUID) before it is rewritten
    const walk = (b: number, level: number) => {
      const orig = patch(b, level === 0 ? BlockType.LEAF : BlockType.NODE, level)
      const node = decodeNode(orig, b, uuid, level)
      if (!isLeaf(node)) for (const c of node.children) walk(c, level - 1)
    }
    walk(sb.treeRoot, sb.treeHeight - 1)
    for (let i = 0; i < geo.bitmapBlocks; i++) {
      const b = geo.bitmapStart + i
      if (dev.read(b * bs, bs).some((x) => x !== 0)) patch(b, BlockType.BITMAP)
    }
    dev.flush()
    // the backup first: if we stop in between, the primary still describes the old UUID consistently
    patch(geo.backupSuperblock, BlockType.SUPER)
    dev.flush()
    patch(0, BlockType.SUPER)
    dev.flush()
    return {blocks}
  } finally {
    try {
      opened?.close()
    } finally {
      release()
    }
  }
}
