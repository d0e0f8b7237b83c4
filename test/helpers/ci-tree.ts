/**
 * A small tree for the image-building tests (mkfs --root/--tar/--spec,
 * reproducibility, diff): every file type mkfs handles without privileges,
 * compressible and incompressible data, a sparse file, hard links, xattrs,
 * odd names, mtimes before and after a reference timestamp. `order` and
 * `umask` change how it is created, not what it is: the same spec always
 * gives the same tree (modes and times are set explicitly), whatever the
 * creation order, umask or atimes.
 */
import fs from 'node:fs'
import path from 'node:path'
import {Rng, text} from './rng.js'
import {xattrLib} from './xattr.js'

/** mtimes in the tree are spread around this (2023-11-14T22:13:20Z). */
export const REF_TIME = 1_700_000_000

export interface CiItem {
  rel: Buffer
  type: 'dir' | 'file' | 'symlink' | 'hardlink' | 'fifo'
  mode?: number
  data?: Buffer
  /** Sparse: data written at this offset, file this long. */
  sparse?: {offset: number; size: number}
  target?: Buffer
  mtime?: number
  xattrs?: Record<string, Buffer>
}

/** The items of the tree (parents before children), from a seed. `utf8Names`: none that node-tar cannot archive. */
export function ciItems(seed = 'ci-tree', files = 120, o: {utf8Names?: boolean} = {}): CiItem[] {
  const rng = new Rng(seed)
  const items: CiItem[] = []
  const b = (s: string) => Buffer.from(s, 'utf8')
  const t = () => REF_TIME + rng.int(-400_000_000, 400_000_000)
  const dirs = [
    'etc',
    'usr',
    'usr/bin',
    'usr/lib',
    'usr/share',
    'usr/share/doc',
    'var',
    'var/cache',
    'var/log',
    'opt/deep/a/b/c/d/e',
  ]
  for (const d of ['opt', 'opt/deep', 'opt/deep/a', 'opt/deep/a/b', 'opt/deep/a/b/c', 'opt/deep/a/b/c/d', ...dirs]) {
    if (!items.some((i) => i.rel.equals(b(d)))) items.push({rel: b(d), type: 'dir', mode: 0o755, mtime: t()})
  }
  items.sort((x, y) => x.rel.length - y.rel.length)
  for (let i = 0; i < files; i++) {
    const dir = rng.pick(dirs)
    const kind = rng.int(0, 9)
    const size = kind < 6 ? rng.int(0, 3000) : kind < 8 ? rng.int(3000, 300_000) : rng.int(100_000, 1_500_000)
    const data = rng.chance(0.25) ? rng.bytes(size) : text(rng, size)
    items.push({
      rel: b(`${dir}/f${i}.${rng.pick(['txt', 'so', 'o', 'log', 'bin'])}`),
      type: 'file',
      mode: rng.pick([0o644, 0o600, 0o755, 0o4755, 0o640]),
      data,
      mtime: t(),
    })
  }
  items.push({rel: b('usr/lib/big.dat'), type: 'file', mode: 0o644, data: text(rng, 2_500_000), mtime: t()})
  items.push({
    rel: b('var/cache/sparse.img'),
    type: 'file',
    mode: 0o644,
    data: text(rng, 10_000),
    sparse: {offset: 3 << 20, size: 8 << 20},
    mtime: t(),
  })
  items.push({
    rel: b('usr/bin/tool'),
    type: 'file',
    mode: 0o755,
    data: text(rng, 50_000),
    mtime: t(),
    xattrs: {'user.comment': b('a tool'), 'user.bin': Buffer.from([0, 0x80, 0xff, 1])},
  })
  items.push({rel: b('usr/bin/tool-alias'), type: 'hardlink', target: b('usr/bin/tool')})
  items.push({rel: b('usr/share/tool-too'), type: 'hardlink', target: b('usr/bin/tool')})
  items.push({rel: b('etc/latest'), type: 'symlink', target: b('../usr/bin/tool'), mtime: t()})
  items.push({rel: b('etc/dangling'), type: 'symlink', target: b('/nonexistent/place'), mtime: t()})
  const badName = {
    rel: Buffer.concat([b('etc/bad-'), Buffer.from([0xff, 0xfe]), b('-name')]),
    type: 'file' as const,
    mode: 0o644,
    data: b('latin1 name\n'),
    mtime: t(),
  }
  if (!o.utf8Names) items.push(badName)
  items.push({rel: b('etc/with space and ünïcödé'), type: 'file', mode: 0o644, data: b('hello\n'), mtime: t()})
  items.push({rel: b('var/log/fifo'), type: 'fifo', mode: 0o640, mtime: t()})
  items.push({
    rel: b('opt/deep/a/b/c/d/e/' + 'n'.repeat(200)),
    type: 'file',
    mode: 0o644,
    data: b('deep\n'),
    mtime: t(),
  })
  items.push({rel: b('usr/share/empty'), type: 'file', mode: 0o644, data: Buffer.alloc(0), mtime: t()})
  items.find((i) => i.rel.equals(b('usr/share/doc')))!.xattrs = {'user.dir': b('yes')}
  return items
}

export interface CreateOptions {
  /** 'forward' or 'reverse' creation order of the non-directory entries. */
  order?: 'forward' | 'reverse'
  umask?: number
  /** Seed for random atimes. */
  atimeSeed?: string
}

/** Create the tree under `root` (which must not exist). Returns whether xattrs were set. */
export function createCiTree(root: string, items: CiItem[], o: CreateOptions = {}): boolean {
  const old = process.umask(o.umask ?? 0o022)
  const xa = xattrLib()
  let xattrs = false
  const rng = new Rng(o.atimeSeed ?? 'atimes')
  try {
    fs.mkdirSync(root)
    fs.chmodSync(root, 0o755)
    const p = (rel: Buffer) => Buffer.concat([Buffer.from(root + '/'), rel])
    const dirs = items.filter((i) => i.type === 'dir')
    for (const d of dirs) fs.mkdirSync(p(d.rel), {recursive: true})
    let rest = items.filter((i) => i.type !== 'dir' && i.type !== 'hardlink')
    if (o.order === 'reverse') rest = [...rest].reverse()
    for (const i of rest) {
      const at = p(i.rel)
      if (i.type === 'file') {
        if (i.sparse) {
          const fd = fs.openSync(at, 'w')
          fs.writeSync(fd, i.data!, 0, i.data!.length, i.sparse.offset)
          fs.ftruncateSync(fd, i.sparse.size)
          fs.closeSync(fd)
        } else fs.writeFileSync(at, i.data!)
      } else if (i.type === 'symlink') fs.symlinkSync(i.target!, at)
      else if (i.type === 'fifo') {
        const r = require_('node:child_process').spawnSync('mkfifo', [at.toString('latin1')], {encoding: 'latin1'})
        if (r.status !== 0) throw new Error(`mkfifo failed: ${r.stderr}`)
      }
    }
    for (const i of items.filter((x) => x.type === 'hardlink')) fs.linkSync(p(i.target!), p(i.rel))
    for (const i of items) {
      if (i.type === 'hardlink') continue
      const at = p(i.rel)
      if (i.xattrs && xa) {
        for (const [k, v] of Object.entries(i.xattrs)) {
          try {
            xa.setAttributeSync(at.toString('utf8'), k, v)
            xattrs = true
          } catch {
            // no user xattrs on this file system
          }
        }
      }
      if (i.type !== 'symlink' && i.mode !== undefined) fs.chmodSync(at, i.mode)
    }
    // times last, deepest first (setting a child's times does not change its directory's)
    for (const i of [...items].reverse()) {
      if (i.type === 'hardlink' || i.mtime === undefined) continue
      const atime = REF_TIME - rng.int(0, 1_000_000_000)
      fs.lutimesSync(p(i.rel), atime, i.mtime)
    }
    return xattrs
  } finally {
    process.umask(old)
  }
}

import {createRequire} from 'node:module'
const require_ = createRequire(import.meta.url)
void path
