/**
 * mkfs inputs before the build: measuring them for `--size auto` and
 * `--estimate`, reading --spec, and spooling a tar read from stdin when it
 * has to be measured first.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {pipeline} from 'node:stream/promises'
import {parseManifest, readTar, type ManifestEntry} from '../../core/index.js'
import {HostError} from './errors.js'
import {censusTree, type TreeCensus} from './host-tree.js'

export type {TreeCensus}

export function emptyCensus(): TreeCensus {
  return {inodes: 1, blockBytes: 0, nameBytes: 0}
}

export function addCensus(a: TreeCensus, b: TreeCensus): TreeCensus {
  return {inodes: a.inodes + b.inodes, blockBytes: a.blockBytes + b.blockBytes, nameBytes: a.nameBytes + b.nameBytes}
}

export function censusRoot(dir: string, blockSize: number): TreeCensus {
  return censusTree(dir, blockSize)
}

/** Walk a tar file's headers (its data is read and skipped). */
export async function censusTar(file: string, blockSize: number): Promise<TreeCensus> {
  const c: TreeCensus = {inodes: 0, blockBytes: 0, nameBytes: 0}
  await readTar(fs.createReadStream(file), file, {
    entry(e) {
      c.nameBytes += e.path.length - e.path.lastIndexOf(0x2f) - 1
      if (e.type === 'hardlink') return
      c.inodes++
      if (e.type === 'file') c.blockBytes += Math.ceil(e.size / blockSize) * blockSize
      else if (e.type === 'symlink') c.nameBytes += e.linkpath?.length ?? 0
      for (const x of e.xattrs) c.nameBytes += x.name.length + x.value.length
    },
    warning() {},
  })
  return c
}

export function censusSpec(entries: ManifestEntry[], specDir: string, blockSize: number): TreeCensus {
  const c: TreeCensus = {inodes: 0, blockBytes: 0, nameBytes: 0}
  for (const e of entries) {
    c.inodes++
    c.nameBytes += e.path.length + (e.target?.length ?? 0)
    for (const x of e.xattrs ?? []) c.nameBytes += x.name.length + x.value.length
    if (e.type === 'file' && e.src !== undefined) {
      let size = e.size ?? 0
      try {
        size = fs.statSync(path.resolve(specDir, e.src)).size
      } catch {
        // the build reports it
      }
      c.blockBytes += Math.ceil(size / blockSize) * blockSize
    }
  }
  return c
}

const MiB = 1024 * 1024
const INODE_ALLOWANCE = 256
const SLACK = 4 * MiB

export interface Estimate {
  /** Image size that certainly holds the input (uncompressed data): what --size auto builds in before shrinking. */
  size: number
  /** Journal blocks --size auto reserves. */
  journalBlocks: number
}

/**
 * An image size that holds the input whatever the compression: file bytes
 * rounded up to blocks × 1.1, plus 256 bytes per inode and twice the bytes of
 * names, link targets and xattrs for metadata, plus 4 MiB, plus the journal;
 * rounded up to a block. The journal, unless given, is 1/64 of the size the
 * image will probably have after shrinking (half this estimate when data is
 * compressed), 256 to 32768 blocks: even a small image keeps one.
 */
export function estimateFromCensus(
  c: TreeCensus,
  blockSize: number,
  journalBytes: number | undefined,
  compressed: boolean,
): Estimate {
  const base = Math.ceil(c.blockBytes * 1.1) + c.inodes * INODE_ALLOWANCE + 2 * c.nameBytes + SLACK
  const guess = Math.ceil((compressed ? base / 2 : base) / blockSize)
  const journalBlocks =
    journalBytes === undefined
      ? Math.min(32768, Math.max(256, Math.floor(guess / 64)))
      : Math.ceil(journalBytes / blockSize)
  return {size: Math.ceil((base + journalBlocks * blockSize) / blockSize) * blockSize, journalBlocks}
}

/** Read a manifest file (line form or JSON). */
export function readSpec(file: string): {entries: ManifestEntry[]; dir: string} {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (e) {
    throw new HostError(
      file,
      (e as NodeJS.ErrnoException).code ?? 'EIO',
      `cannot read the manifest (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    )
  }
  return {entries: parseManifest(text, file), dir: path.dirname(path.resolve(file))}
}

/** Copy stdin into a temporary file (removed by the returned cleanup). */
export async function spoolStdin(): Promise<{file: string; cleanup: () => void}> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'razorfs-tar-'))
  const file = path.join(dir, 'stdin.tar')
  const cleanup = () => fs.rmSync(dir, {recursive: true, force: true})
  try {
    await pipeline(process.stdin, fs.createWriteStream(file))
  } catch (e) {
    cleanup()
    throw e
  }
  return {file, cleanup}
}
