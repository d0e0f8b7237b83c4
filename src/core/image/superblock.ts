/**
 * Reading, validating and writing the superblock and its backup (FORMAT.md §4).
 */
import type {BlockDevice} from '../io/device.js'
import {fail} from '../errors.js'
import {RangeDecodeError} from '../format/codec.js'
import {featureNames, unknownBits} from '../format/features.js'
import {
  computeGeometry,
  isPowerOfTwo,
  MAX_BLOCK_SIZE,
  MAX_CLUSTER_SIZE,
  MIN_BLOCK_SIZE,
  type Geometry,
} from '../format/geometry.js'
import {BLOCK_MAGIC, blockHeader, BlockType, sealBlock, verifyBlock} from '../format/header.js'
import {
  FORMAT_VERSION,
  SIGNATURE,
  SUPERBLOCK_BODY_OFFSET,
  SUPERBLOCK_SIZE,
  superblockBody,
  type SuperblockFields,
} from '../format/superblock.js'

export interface LoadedSuperblock {
  sb: SuperblockFields
  uuid: Buffer
  geo: Geometry
  /** True when an unknown ro_compat feature forces read-only use. */
  forceReadOnly: boolean
}

export function encodeSuperblock(sb: SuperblockFields, uuid: Buffer, blocknr: number, generation: number): Buffer {
  const buf = Buffer.alloc(sb.blockSize)
  superblockBody.encode(sb, buf, SUPERBLOCK_BODY_OFFSET)
  sealBlock(buf, {type: BlockType.SUPER, level: 0, blocknr, uuid, generation})
  return buf
}

/** Decode and validate the superblock stored at `blocknr` (0, or the backup) of a device. */
export function loadSuperblock(
  dev: BlockDevice,
  name: string,
  at: {blocknr: number; blockSize?: number} = {blocknr: 0},
): LoadedSuperblock {
  if (dev.size < SUPERBLOCK_SIZE) throw fail('ENOTIMAGE', `${name}: not a RAZORFS image (only ${dev.size} bytes)`)
  const probePos = at.blockSize ? at.blocknr * at.blockSize : 0
  const head = dev.read(probePos, SUPERBLOCK_SIZE)
  const sig = head.subarray(SUPERBLOCK_BODY_OFFSET, SUPERBLOCK_BODY_OFFSET + SIGNATURE.length)
  if (head.readUInt32LE(0) !== BLOCK_MAGIC || !sig.equals(SIGNATURE)) {
    throw fail('ENOTIMAGE', `${name}: not a RAZORFS image (no RAZORFS signature in block ${at.blocknr})`, {
      block: at.blocknr,
    })
  }
  let sb: SuperblockFields
  try {
    sb = superblockBody.decode(head, SUPERBLOCK_BODY_OFFSET)
  } catch (e) {
    if (e instanceof RangeDecodeError)
      throw fail('ECORRUPT', `${name}: superblock field out of range (${e.message})`, {block: at.blocknr})
    throw e
  }
  if (sb.version !== FORMAT_VERSION)
    throw fail(
      'EVERSION',
      `${name}: format version ${sb.version} is not supported (this tool reads version ${FORMAT_VERSION})`,
    )
  const bs = sb.blockSize
  if (!isPowerOfTwo(bs) || bs < MIN_BLOCK_SIZE || bs > MAX_BLOCK_SIZE)
    throw fail('ECORRUPT', `${name}: superblock has invalid block size ${bs}`, {block: at.blocknr})
  const block = dev.read(at.blocknr * bs, bs)
  const h = verifyBlock(block, {blocknr: at.blocknr, uuid: blockHeader.decode(block).uuid, type: BlockType.SUPER})
  const badIncompat = unknownBits('incompat', sb.incompat)
  if (badIncompat)
    throw fail(
      'EFEATURE',
      `${name}: uses unsupported features (${featureNames('incompat', badIncompat).join(', ')}); upgrade razorfs`,
    )
  const forceReadOnly = unknownBits('roCompat', sb.roCompat) !== 0
  const cs = sb.clusterSize
  if (!isPowerOfTwo(cs) || cs < bs || cs > MAX_CLUSTER_SIZE)
    throw fail('ECORRUPT', `${name}: superblock has invalid cluster size ${cs}`, {block: at.blocknr})
  const geo = computeGeometry(bs, cs, sb.blockCount, sb.journalBlocks)
  const bad = (why: string) => fail('ECORRUPT', `${name}: superblock inconsistent: ${why}`, {block: at.blocknr})
  if (sb.blockCount < geo.firstFree + 2) throw bad(`block count ${sb.blockCount} too small`)
  if (sb.bitmapStart !== geo.bitmapStart || sb.bitmapBlocks !== geo.bitmapBlocks) throw bad('bitmap location')
  if (sb.journalStart !== geo.journalStart) throw bad('journal location')
  if (sb.treeRoot < geo.firstFree || sb.treeRoot >= geo.backupSuperblock)
    throw bad(`tree root ${sb.treeRoot} outside the data area`)
  if (sb.treeHeight < 1 || sb.treeHeight > 16) throw bad(`tree height ${sb.treeHeight}`)
  if (sb.freeBlocks > sb.blockCount) throw bad('free block count')
  if (at.blocknr === 0 && dev.size < sb.blockCount * bs) {
    throw fail(
      'ETRUNCATED',
      `${name}: image is truncated: ${dev.size} bytes, superblock says ${sb.blockCount * bs}; razorfsck may recover what is left`,
    )
  }
  void h
  return {sb, uuid: blockHeader.decode(block).uuid, geo, forceReadOnly}
}

/** Write the primary and (optionally) the backup superblock. */
export function writeSuperblock(
  dev: BlockDevice,
  sb: SuperblockFields,
  uuid: Buffer,
  geo: Geometry,
  backup: boolean,
): void {
  dev.write(0, encodeSuperblock(sb, uuid, 0, sb.generation))
  if (backup)
    dev.write(geo.backupSuperblock * geo.blockSize, encodeSuperblock(sb, uuid, geo.backupSuperblock, sb.generation))
}
