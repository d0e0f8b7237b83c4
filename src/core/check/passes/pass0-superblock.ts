/**
 * Pass 0: the superblock and its backup, before anything can be opened. A
 * destroyed primary is replaced (in a read-only view first) by the backup in
 * the last block; a truncated file reads as zeros past its end; a backup that
 * is unreadable or differs is reported.
 */
import {type BlockDevice, FileDevice} from '../../io/device.js'
import {fail, isRazorError} from '../../errors.js'
import {blockHeader, resealBlock} from '../../format/header.js'
import {OverlayDevice} from '../../io/overlay-device.js'
import {loadSuperblock, type LoadedSuperblock} from '../../image/superblock.js'
import type {ProblemContext, ProblemName} from '../problems.js'

export interface SuperblockFacts {
  sbl: LoadedSuperblock
  /** The new primary superblock block (from the backup), when the primary is destroyed. */
  patch?: Buffer
  /** The file's size, when it is shorter than the superblock says. */
  truncatedTo?: number
}

export function superblockPass(path: string, add: (name: ProblemName, ctx: ProblemContext) => void): SuperblockFacts {
  const probe = FileDevice.open(path, true)
  let sbl: LoadedSuperblock
  let patch: Buffer | undefined
  let truncatedTo: number | undefined
  try {
    try {
      sbl = loadSuperblock(probe, path)
    } catch (e) {
      if (!isRazorError(e)) throw e
      if (e.code === 'ETRUNCATED') {
        sbl = loadSuperblock(new OverlayDevice(probe, 1024, new Map(), Number.MAX_SAFE_INTEGER), path)
        truncatedTo = probe.size
        add('SB_TRUNCATED', {found: probe.size, expected: sbl.geo.blockCount * sbl.geo.blockSize})
      } else if (e.code === 'EVERSION' || e.code === 'EFEATURE') throw e
      else {
        const backup = findBackup(probe, path)
        if (!backup)
          throw fail(
            e.code === 'ENOTIMAGE' ? 'ENOTIMAGE' : e.code,
            `${e.message}; no backup superblock found at the end of the file either`,
          )
        add('SB_PRIMARY_BAD', {block: 0, detail: e.message.replace(`${path}: `, '')})
        sbl = backup
        patch = primaryFromBackup(probe, backup)
      }
    }
    if (!patch && truncatedTo === undefined) {
      try {
        const b = loadSuperblock(probe, path, {blocknr: sbl.geo.backupSuperblock, blockSize: sbl.geo.blockSize})
        const differs = (['blockCount', 'blockSize', 'clusterSize', 'journalBlocks', 'version'] as const).filter(
          (f) => b.sb[f] !== sbl.sb[f],
        )
        if (differs.length || !b.uuid.equals(sbl.uuid)) add('SB_BACKUP_DIFFERS', {detail: differs.join(', ') || 'UUID'})
      } catch (e) {
        if (!isRazorError(e)) throw e
        add('SB_BACKUP_BAD', {block: sbl.geo.backupSuperblock, detail: e.message.replace(`${path}: `, '')})
      }
    }
  } finally {
    probe.close()
  }
  return {sbl, patch, truncatedTo}
}

function findBackup(dev: BlockDevice, name: string): LoadedSuperblock | undefined {
  for (let bs = 1024; bs <= 65536; bs *= 2) {
    if (dev.size % bs !== 0 || dev.size < 2 * bs) continue
    try {
      return loadSuperblock(dev, name, {blocknr: dev.size / bs - 1, blockSize: bs})
    } catch {
      // not at this block size
    }
  }
  return undefined
}

/** The backup block turned into a primary: the same content, its own number 0. */
function primaryFromBackup(dev: BlockDevice, l: LoadedSuperblock): Buffer {
  const bs = l.geo.blockSize
  const b = dev.read(l.geo.backupSuperblock * bs, bs)
  const h = blockHeader.decode(b)
  blockHeader.encode({...h, blocknr: 0}, b, 0)
  resealBlock(b)
  return b
}
