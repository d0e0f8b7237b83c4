/** The shapes shared by the corruption kinds (corrupt.ts) and the driver that applies them. */
import type {Image} from '../../image/image.js'
import type {Volume} from '../../fs/volume.js'

export interface CorruptOptions {
  seed?: number
  /** A path inside the image or an inode number; default: chosen from the seed. */
  target?: string | number
}

export interface CorruptResult {
  kind: string
  description: string
  ino?: number
  block?: number
}

/** What an item-level kind works with: the image open read-write, a seeded random source, a target picker. */
export interface Ctx {
  img: Image
  v: Volume
  rand: (n: number) => number
  target: (want: 'file' | 'dir' | 'data' | 'any') => number
}

/** Item-level kinds edit the tree through the library; raw kinds write bytes into the image file. */
export type Kind = {name: string; about: string} & (
  | {item: (c: Ctx) => Omit<CorruptResult, 'kind'>}
  | {raw: (path: string, info: RawInfo, rand: (n: number) => number) => Omit<CorruptResult, 'kind'>}
)

/** What a raw kind needs to know about the image, read before it is damaged. */
export interface RawInfo {
  blockSize: number
  blocks: number
  treeRoot: number
  treeHeight: number
  bitmapStart: number
  journalStart: number
  leaves: number[]
  interior: number[]
  dataBlocks: Array<{ino: number; block: number}>
}
