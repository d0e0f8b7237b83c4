/** Small editing tools the corruption kinds share: raw byte edits of the image file, and inode edits. */
import fs from 'node:fs'
import {resealBlock} from '../../format/header.js'
import {superblockBody, SUPERBLOCK_BODY_OFFSET} from '../../format/superblock.js'
import {readInode, writeInode} from '../../fs/inode-table.js'
import type {Ctx} from './types.js'

export function rw(path: string, pos: number, f: (b: Buffer) => void, len: number): void {
  const fd = fs.openSync(path, 'r+')
  try {
    const b = Buffer.alloc(len)
    fs.readSync(fd, b, 0, len, pos)
    f(b)
    fs.writeSync(fd, b, 0, len, pos)
  } finally {
    fs.closeSync(fd)
  }
}

export const flip = (path: string, block: number, bs: number, off: number) =>
  rw(path, block * bs + off, (b) => (b[0] = b[0]! ^ 0xff), 1)
export const zero = (path: string, block: number, bs: number) => rw(path, block * bs, (b) => b.fill(0), bs)
export function editSuper(path: string, bs: number, f: (sb: ReturnType<typeof superblockBody.decode>) => void): void {
  rw(
    path,
    0,
    (b) => {
      const sb = superblockBody.decode(b, SUPERBLOCK_BODY_OFFSET)
      f(sb)
      superblockBody.encode(sb, b, SUPERBLOCK_BODY_OFFSET)
      resealBlock(b)
    },
    bs,
  )
}

export const inodeItem = (c: Ctx, ino: number, f: (r: ReturnType<typeof readInode>) => void) => {
  const r = readInode(c.v, ino)
  f(r)
  writeInode(c.v, ino, r)
}
