/** `dump --inode N`: every Stat field, the extent table and the xattrs of one inode. */
import type {ExtentInfo, Image, Stat} from '../../core/index.js'
import {isDevice, modeOctal, modeString, splitDevice} from './mode.js'
import {columns, keyValues} from './table.js'
import {formatFullTime} from './time.js'
import {displayValue, renderValue, type RenderedValue} from './values.js'

export interface XattrReport extends RenderedValue {
  name: string
  size: number
}

export interface InodeReport {
  inode: Stat & {modeString: string}
  /** Symlink target (symlinks only). */
  target?: RenderedValue
  extents: ExtentInfo[]
  xattrs: XattrReport[]
}

export function inodeReport(img: Image, ino: number): InodeReport {
  const st = img.stat(ino)
  const xattrs = img
    .listXattrs(ino)
    .sort()
    .map((name) => {
      const value = img.getXattr(ino, name)
      return {name, size: value.length, ...renderValue(value, true)}
    })
  const report: InodeReport = {inode: {...st, modeString: modeString(st.mode)}, extents: img.extents(ino), xattrs}
  if (st.type === 'symlink') report.target = renderValue(img.readlink(ino), true)
  return report
}

function crcHex(crc: number): string {
  return (crc >>> 0).toString(16).padStart(8, '0')
}

export function renderInodeReport(r: InodeReport): string[] {
  const st = r.inode
  const pairs: [string, string | number][] = [
    ['Inode', st.ino],
    ['Type', st.type],
    ['Mode', `${modeOctal(st.mode)} (${st.modeString}), st_mode 0${st.mode.toString(8)}`],
    ['Uid', st.uid],
    ['Gid', st.gid],
    ['Links', st.nlink],
    ['Size', st.size],
    ['Allocated', st.allocated],
  ]
  if (isDevice(st.type)) {
    const {major, minor} = splitDevice(st.rdev)
    pairs.push(['Device', `${major},${minor} (rdev ${st.rdev})`])
  } else pairs.push(['Rdev', st.rdev])
  pairs.push(
    ['Flags', `0x${st.flags.toString(16).padStart(8, '0')}`],
    ['Generation', st.generation],
    ['Parent', st.parent],
    ['Access', formatFullTime(st.atime)],
    ['Modify', formatFullTime(st.mtime)],
    ['Change', formatFullTime(st.ctime)],
    ['Birth', formatFullTime(st.crtime)],
  )
  if (r.target)
    pairs.push([
      'Target',
      r.target.encoding === 'utf8' ? JSON.stringify(r.target.value) : `${r.target.encoding}:${r.target.value}`,
    ])
  const lines = keyValues(pairs)

  lines.push('', `Extents (${r.extents.length}):`)
  if (r.extents.length > 0) {
    const head = ['offset', 'length', 'kind', 'block', 'blocks', 'stored', 'crc']
    const rows = r.extents.map((e) => [
      String(e.offset),
      String(e.length),
      e.kind,
      String(e.block),
      String(e.blocks),
      String(e.stored),
      crcHex(e.crc),
    ])
    for (const l of columns([head, ...rows], ['right', 'right', 'left', 'right', 'right', 'right', 'left'], '  '))
      lines.push('  ' + l)
  }

  lines.push('', `Extended attributes (${r.xattrs.length}):`)
  for (const x of r.xattrs)
    lines.push(`  ${x.name} = ${displayValue(Buffer.from(x.value, x.encoding === 'utf8' ? 'utf8' : x.encoding))}`)
  return lines
}
