/** `dump` without --inode: the superblock and space figures, like dumpe2fs -h. */
import type {ImageInfo, ImageStats} from '../../core/index.js'
import {compressionName, ratio} from './space.js'
import {formatBytes} from './size.js'
import {keyValues} from './table.js'
import {formatFullTime} from './time.js'

export interface SuperblockReport extends ImageInfo {
  image: string
  usedBlocks: number
  dataBytes: number
  storedBytes: number
  compressionRatio: number
}

export function superblockReport(image: string, info: ImageInfo, stats: ImageStats): SuperblockReport {
  return {
    image,
    ...info,
    usedBlocks: stats.usedBlocks,
    dataBytes: stats.dataBytes,
    storedBytes: stats.storedBytes,
    compressionRatio: ratio(stats.dataBytes, stats.storedBytes),
  }
}

function blockRange(start: number, count: number): string {
  if (count === 0) return 'none'
  return count === 1 ? `block ${start}` : `blocks ${start}-${start + count - 1} (${count} blocks)`
}

function featureList(names: string[]): string {
  return names.length > 0 ? names.join(' ') : '(none)'
}

export function renderSuperblockReport(r: SuperblockReport): string[] {
  const l = r.layout
  return keyValues([
    ['Image', r.image],
    ['Format version', r.version],
    ['Filesystem UUID', r.uuid],
    ['Filesystem volume name', r.label === '' ? '<none>' : r.label],
    ['Filesystem state', r.state],
    ['Compatible features', featureList(r.features.compat)],
    ['Read-only compatible features', featureList(r.features.roCompat)],
    ['Incompatible features', featureList(r.features.incompat)],
    ['Block size', r.blockSize],
    ['Cluster size', r.clusterSize],
    ['Block count', r.blocks],
    ['Free blocks', r.freeBlocks],
    ['Used blocks', r.usedBlocks],
    ['Inode count', r.inodeCount],
    ['Next inode', r.nextIno],
    ['Compression', compressionName(r.compression)],
    ['Filesystem created', formatFullTime(r.created)],
    ['Last modified', formatFullTime(r.modified)],
    ['Superblock', `block ${l.superblock}`],
    ['Backup superblock', `block ${l.backupSuperblock}`],
    ['Block bitmap', blockRange(l.bitmapStart, l.bitmapBlocks)],
    ['Journal', blockRange(l.journalStart, l.journalBlocks)],
    ['Tree root', `block ${l.treeRoot}`],
    ['Tree height', l.treeHeight],
    ['Data bytes', `${r.dataBytes} (${formatBytes(r.dataBytes)})`],
    ['Stored bytes', `${r.storedBytes} (${formatBytes(r.storedBytes)})`],
    ['Compression ratio', r.compressionRatio.toFixed(2)],
  ])
}
