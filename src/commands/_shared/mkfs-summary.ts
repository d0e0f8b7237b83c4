/** The report mkfs prints once the image is closed (the core's MkfsResult, which --json prints as it is). */
import type {MkfsResult} from '../../core/index.js'
import {compressionName} from './space.js'
import {formatBytes} from './size.js'
import {keyValues} from './table.js'

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
