/**
 * Measuring mkfs's inputs before the build: a census of the host tree, the
 * tar archive and the manifest (honouring the exclusions), and from it the
 * image size `--size auto` builds in and `--estimate` reports.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {fail} from '../errors.js'
import {DEFAULT_BLOCK_SIZE} from '../format/geometry.js'
import {parseManifest, type ManifestEntry} from '../host/manifest.js'
import type {CompressionSpec} from '../types.js'
import {excluder} from './attrs.js'
import {readTar} from '../host/tar-reader.js'
import {walkTree, type TreeExclude} from '../host/tree-walk.js'
import {tarExcluder} from './tar-import.js'

export interface TreeCensus {
  /** Inodes the image will need (every entry, hard links counted once, plus the root). */
  inodes: number
  /** Regular-file bytes, each file rounded up to whole blocks (hard links counted once). */
  blockBytes: number
  /** Bytes of names, link targets and xattrs (they live in the metadata tree). */
  nameBytes: number
}

export function emptyCensus(): TreeCensus {
  return {inodes: 1, blockBytes: 0, nameBytes: 0}
}

export function addCensus(a: TreeCensus, b: TreeCensus): TreeCensus {
  return {inodes: a.inodes + b.inodes, blockBytes: a.blockBytes + b.blockBytes, nameBytes: a.nameBytes + b.nameBytes}
}

/** The host tree at `root`, walked as populate walks it (tree-walk.ts), without what `exclude` leaves out. */
export function censusTree(root: string, blockSize: number, exclude?: TreeExclude): TreeCensus {
  const census = emptyCensus()
  for (const e of walkTree(root, exclude)) {
    census.nameBytes += e.name.length
    if (e.link) continue
    census.inodes++
    if (e.type === 'file') census.blockBytes += Math.ceil(Number(e.st.size) / blockSize) * blockSize
    else if (e.type === 'symlink') census.nameBytes += Number(e.st.size)
  }
  return census
}

/** Walk a tar file's headers (its data is read and skipped). */
export async function censusTar(file: string, blockSize: number, exclude?: TreeExclude): Promise<TreeCensus> {
  const c: TreeCensus = {inodes: 0, blockBytes: 0, nameBytes: 0}
  const excluded = tarExcluder(exclude)
  await readTar(fs.createReadStream(file), file, {
    entry(e) {
      if (excluded && e.path.length && excluded(e.path, e.type === 'hardlink' ? 'file' : e.type)) return
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

/** Manifest entries; the size of a src= file is its size on the host. */
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

/** Copy a stream (a tar read from standard input) into a temporary file, to be measured and then read again. */
export async function spoolStream(stream: Readable): Promise<{file: string; cleanup: () => void}> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'razorfs-tar-'))
  const file = path.join(dir, 'stdin.tar')
  const cleanup = () => fs.rmSync(dir, {recursive: true, force: true})
  try {
    await pipeline(stream, fs.createWriteStream(file))
  } catch (e) {
    cleanup()
    throw e
  }
  return {file, cleanup}
}

/** The sources mkfs reads, as its options and estimate() take them. */
export interface MkfsSources {
  /** Host directory copied first. */
  root?: string
  /** Tar archive laid over it: a file, or a stream (read once; with size 'auto' it is first copied to a temporary file). */
  tar?: string | {stream: Readable; name: string}
  /** Manifest laid over both: a file (line form or JSON), or its parsed entries (`dir` resolves their src= paths). */
  spec?: string | {entries: ManifestEntry[]; name: string; dir: string}
  /** Entries of root and tar to leave out: --exclude patterns, or a predicate. */
  exclude?: string[] | TreeExclude
}

export interface EstimateOptions extends MkfsSources {
  /** Default 4 KiB. */
  blockSize?: number
  /** The journal's size; default 1/64 of half the estimate (256 to 32768 blocks). */
  journalBytes?: number
  /** Only whether it is 'none' matters (the journal default assumes compressed data halves). */
  compression?: CompressionSpec
}

export interface EstimateResult {
  /** The image size mkfs --size auto starts from (it holds the input uncompressed). */
  estimate: number
  journalBytes: number
  inodes: number
  /** File data, each file rounded up to whole blocks. */
  dataBytes: number
}

/** A manifest file's entries (line form or JSON). */
export function readSpecFile(file: string): {entries: ManifestEntry[]; name: string; dir: string} {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw fail('ENOENT', `${file}: cannot read the manifest (${code ?? (e as Error).message})`, {path: file})
  }
  return {entries: parseManifest(text, file), name: file, dir: path.dirname(path.resolve(file))}
}

/** Compile --exclude patterns (a predicate is taken as it is). */
export function excludeOf(exclude: string[] | TreeExclude | undefined): TreeExclude | undefined {
  return typeof exclude === 'function' ? exclude : excluder(exclude)
}

/** The census of all sources (`tarFile`: the tar archive as a file, already spooled if it was a stream). */
export async function censusSources(
  o: MkfsSources,
  tarFile: string | undefined,
  blockSize: number,
  exclude: TreeExclude | undefined,
): Promise<TreeCensus> {
  let c = o.root !== undefined ? censusTree(o.root, blockSize, exclude) : emptyCensus()
  if (tarFile !== undefined) c = addCensus(c, await censusTar(tarFile, blockSize, exclude))
  const spec = typeof o.spec === 'string' ? readSpecFile(o.spec) : o.spec
  if (spec) c = addCensus(c, censusSpec(spec.entries, spec.dir, blockSize))
  return c
}

/** What `razorfs mkfs --estimate` prints: the size --size auto builds in, measured from the sources. */
export async function estimate(o: EstimateOptions): Promise<EstimateResult> {
  if (o.root === undefined && o.tar === undefined && o.spec === undefined)
    throw fail('EINVAL', 'an estimate needs an input: a root directory, a tar archive or a manifest')
  const bs = o.blockSize ?? DEFAULT_BLOCK_SIZE
  const spooled = o.tar !== undefined && typeof o.tar !== 'string' ? await spoolStream(o.tar.stream) : undefined
  try {
    const tarFile = spooled?.file ?? (o.tar as string | undefined)
    const c = await censusSources(o, tarFile, bs, excludeOf(o.exclude))
    const e = estimateFromCensus(c, bs, o.journalBytes, o.compression?.algorithm !== 'none')
    return {estimate: e.size, journalBytes: e.journalBlocks * bs, inodes: c.inodes, dataBytes: c.blockBytes}
  } finally {
    spooled?.cleanup()
  }
}
