/** The report mkfs prints (or returns under --json) once the image is closed. */
import type {ImageInfo, ImageStats, PopulateResult, PopulateWarning} from '../../core/index.js'
import {compressionName, ratio} from './space.js'
import {formatBytes} from './size.js'
import {keyValues} from './table.js'

export interface MkfsResult {
  image: string
  uuid: string
  label: string
  version: number
  size: number
  blockSize: number
  clusterSize: number
  blocks: number
  usedBlocks: number
  freeBlocks: number
  compression: {algorithm: 'none' | 'zstd'; level: number}
  files: number
  directories: number
  symlinks: number
  hardlinks: number
  specials: number
  bytesIn: number
  dataBytes: number
  storedBytes: number
  /** dataBytes / storedBytes (1 when nothing is stored). */
  compressionRatio: number
  /** Wall-clock seconds the whole mkfs took. */
  seconds?: number
  /** Built reproducibly (SOURCE_DATE_EPOCH or --timestamp). */
  reproducible?: boolean
  /** The reproducible build's timestamp, seconds since 1970. */
  timestamp?: number
  /** Worker threads that compressed. */
  workers?: number
  warnings: PopulateWarning[]
}

const EMPTY: PopulateResult = {
  files: 0,
  directories: 0,
  symlinks: 0,
  hardlinks: 0,
  specials: 0,
  bytesIn: 0,
  warnings: 0,
}

export function mkfsResult(
  image: string,
  info: ImageInfo,
  stats: ImageStats,
  populated: PopulateResult | undefined,
  warnings: PopulateWarning[],
): MkfsResult {
  const p = populated ?? EMPTY
  return {
    image,
    uuid: info.uuid,
    label: info.label,
    version: info.version,
    size: stats.blocks * stats.blockSize,
    blockSize: stats.blockSize,
    clusterSize: stats.clusterSize,
    blocks: stats.blocks,
    usedBlocks: stats.usedBlocks,
    freeBlocks: stats.freeBlocks,
    compression: info.compression,
    files: p.files,
    directories: p.directories,
    symlinks: p.symlinks,
    hardlinks: p.hardlinks,
    specials: p.specials,
    bytesIn: p.bytesIn,
    dataBytes: stats.dataBytes,
    storedBytes: stats.storedBytes,
    compressionRatio: ratio(stats.dataBytes, stats.storedBytes),
    warnings,
  }
}

function withExact(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${formatBytes(bytes)} (${bytes.toLocaleString('en-US')} bytes)`
}

export function renderMkfsResult(r: MkfsResult): string[] {
  const used = r.usedBlocks * r.blockSize
  const pct = r.blocks === 0 ? 0 : Math.round((100 * r.usedBlocks) / r.blocks)
  const lines = [
    `Created ${r.image}: RAZORFS version ${r.version}, UUID ${r.uuid}${r.label ? `, label '${r.label}'` : ''}`,
  ]
  lines.push(
    ...keyValues([
      ['Files', r.files.toLocaleString('en-US')],
      ['Directories', r.directories.toLocaleString('en-US')],
      ['Symlinks', r.symlinks.toLocaleString('en-US')],
      ['Hard links', r.hardlinks.toLocaleString('en-US')],
      ['Special files', r.specials.toLocaleString('en-US')],
      ['Bytes in', withExact(r.bytesIn)],
      ['Image size', `${withExact(r.size)}, ${r.blocks.toLocaleString('en-US')} blocks of ${r.blockSize}`],
      ['Used', `${formatBytes(used)} (${pct}%)`],
      [
        'Compression',
        `${compressionName(r.compression)}, ratio ${r.compressionRatio.toFixed(2)} (${formatBytes(r.dataBytes)} stored in ${formatBytes(r.storedBytes)})`,
      ],
    ]).map((l) => '  ' + l),
  )
  if (r.seconds !== undefined)
    lines.push(
      `  Time:           ${r.seconds.toFixed(1)} s${r.workers !== undefined ? ` (${r.workers} compression worker${r.workers === 1 ? '' : 's'})` : ''}${r.reproducible ? `, reproducible (timestamp ${r.timestamp})` : ''}`,
    )
  if (r.warnings.length > 0)
    lines.push(`  ${r.warnings.length} warning${r.warnings.length === 1 ? '' : 's'} (see above)`)
  return lines
}
