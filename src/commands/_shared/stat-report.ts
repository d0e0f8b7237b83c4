/** `stat`: stat(1)'s layout for one inode. */
import type {Stat} from '../../core/index.js'
import {displayName, jsonName} from './names.js'
import {isDevice, modeOctal, modeString, splitDevice, typeDescription} from './mode.js'
import {formatFullTime} from './time.js'

export interface StatReport extends Stat {
  /** The path asked for (escaped if not UTF-8). */
  path: string
  /** Host path of the image. */
  image: string
  modeString: string
  typeDescription: string
  /** 512-byte blocks allocated, as stat(1) counts them. */
  blocks: number
  ioBlock: number
  major?: number
  minor?: number
  target?: string
  targetBase64?: string
}

export function statReport(image: string, path: string, st: Stat, blockSize: number, target?: Buffer): StatReport {
  const report: StatReport = {
    image,
    path,
    ...st,
    modeString: modeString(st.mode),
    typeDescription: typeDescription(st.type, st.size),
    blocks: Math.ceil(st.allocated / 512),
    ioBlock: blockSize,
  }
  if (isDevice(st.type)) Object.assign(report, splitDevice(st.rdev))
  if (target) Object.assign(report, jsonName(target, 'target'))
  return report
}

export function renderStatReport(r: StatReport, target?: Buffer): string[] {
  const name = target ? `${r.path} -> ${displayName(target)}` : r.path
  const dev = r.major !== undefined ? `  Device type: ${r.major},${r.minor}` : ''
  return [
    `  File: ${name}`,
    `  Size: ${String(r.size).padEnd(15)} Blocks: ${String(r.blocks).padEnd(10)} IO Block: ${String(r.ioBlock).padEnd(6)} ${r.typeDescription}`,
    `Device: ${r.image.padEnd(13)} Inode: ${String(r.ino).padEnd(11)} Links: ${r.nlink}${dev}`,
    `Access: (${modeOctal(r.mode)}/${r.modeString})  Uid: (${String(r.uid).padStart(5)})   Gid: (${String(r.gid).padStart(5)})`,
    `Access: ${formatFullTime(r.atime)}`,
    `Modify: ${formatFullTime(r.mtime)}`,
    `Change: ${formatFullTime(r.ctime)}`,
    ` Birth: ${formatFullTime(r.crtime)}`,
  ]
}
