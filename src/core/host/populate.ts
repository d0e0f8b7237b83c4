/**
 * Copy a host directory tree into an image (mkfs --root): every file type,
 * modes, owners, nanosecond times, symlinks as links, hard links (one inode
 * per host dev+ino), holes (all-zero blocks are not stored) and xattrs.
 * Entries are visited in the order of tree-walk.ts (byte order of their
 * names), so the same tree always gives the same image.
 */
import fs from 'node:fs'
import {fail} from '../errors.js'
import type {Image} from '../image/image.js'
import {S_IFMT, S_IFDIR, type FileType, type InodeAttrs} from '../types.js'
import {plainAttrs, type CopyEvent, type CopyOptions} from './copy.js'
import {Engine} from './populate-engine.js'
import type {TreeExclude} from './tree-walk.js'

export interface PopulateProgress {
  files: number
  bytes: number
  path: string
}
export interface PopulateWarning {
  code: string
  path: string
  message: string
}
export interface PopulateOptions {
  onProgress?: (p: PopulateProgress) => void
  onWarning?: (w: PopulateWarning) => void
  /** Directory of the image the tree's contents go into (default: the root). Its own attributes become the tree root's. */
  into?: number
  /**
   * Leave out an entry (and, for a directory, everything below it). `rel` is
   * the entry's path relative to the tree root, '/'-separated, as bytes.
   */
  exclude?: TreeExclude
  /**
   * Rewrite an entry's attributes before they are stored: owner maps,
   * --all-root, timestamp clamping. `rel` is as for exclude ('' for the root).
   */
  /** parent: the directory the entry is made in (absent for the copy's top directory when it already exists). */
  mapAttrs?: (attrs: InodeAttrs, rel: Buffer, type: FileType, parent?: number) => InodeAttrs
  /**
   * Copy a regular file's content (at host path `src`, `size` bytes by stat)
   * into the new, empty inode `ino` instead of populate's own copy (mkfs plans
   * it on worker threads); returns the bytes copied. It must not change the
   * inode's times. A host error it throws makes the file stay empty.
   */
  copyData?: (src: Buffer, ino: number, size: number) => number
}
/** What a copy into an image made, by kind of entry (the base of PopulateResult and mkfs's MkfsResult). */
export interface PopulateCounts {
  files: number
  directories: number
  symlinks: number
  hardlinks: number
  specials: number
  /** Bytes of file content read. */
  bytesIn: number
}
export interface PopulateResult extends PopulateCounts {
  /** How many warnings onWarning was given. */
  warnings: number
}

const ROOT = 1

/** Copy the tree at `hostDir` into the image's root directory, preserving types, modes, owners, times, links, holes and xattrs. */
export function populate(img: Image, hostDir: string, opts: PopulateOptions = {}): PopulateResult {
  const steps = populateSteps(img, hostDir, opts)
  for (let r = steps.next(); ; r = steps.next()) if (r.done) return r.value
}

/**
 * populate, one step at a time: the generator yields an event after each
 * entry (and every few MiB of a large file), so a caller can show progress,
 * commit, or stop between two steps.
 */
export function* populateSteps(
  img: Image,
  hostDir: string,
  opts: PopulateOptions = {},
): Generator<CopyEvent, PopulateResult> {
  let rootSt: fs.BigIntStats
  try {
    rootSt = fs.statSync(hostDir, {bigint: true})
  } catch (e) {
    throw fail(
      'ENOENT',
      `${hostDir}: cannot read the source tree (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      {path: hostDir},
    )
  }
  if ((Number(rootSt.mode) & S_IFMT) !== S_IFDIR)
    throw fail('ENOTDIR', `${hostDir}: the source tree is not a directory`, {path: hostDir})
  const into = opts.into ?? ROOT
  const eng = new Engine(img, opts)
  try {
    const root = Buffer.from(hostDir)
    eng.copyXattrs(root, into, root)
    yield* eng.visit(root, into, Buffer.alloc(0), root, root)
  } finally {
    eng.cleanup()
  }
  eng.finish()
  img.setattr(into, eng.attrsFor(rootSt, Buffer.alloc(0)))
  return eng.res
}

/** What cp needs on top of PopulateOptions (see CopyOptions in copy.ts). */
export interface CopyInOptions extends CopyOptions {
  /** How the source and the destination are shown in events and problems. */
  srcLabel?: Buffer
  dstLabel?: Buffer
  /** A directory source is merged into `dir` itself (`name` is not used): copying 'DIR/.' or into an image's root. */
  into?: boolean
}

/**
 * Copy one host entry — a file, symlink, special file or (with recursive) a
 * directory tree — into the image directory `dir` as `name` (cp into an
 * image). An existing directory of that name is merged into; see
 * CopyOptions for everything else.
 */
export function* copyIn(
  img: Image,
  hostPath: Buffer,
  dir: number,
  name: Buffer,
  opts: CopyInOptions = {},
): Generator<CopyEvent, void> {
  const preserve = opts.preserve ?? false
  const eng = new Engine(img, {
    onWarning: opts.onWarning ? (w) => opts.onWarning!({code: w.code, path: w.path, message: w.message}) : undefined,
    // not preserving: the user's owner and plain mode, and the new-entry rule of the directory it is made in (setgid)
    mapAttrs: preserve
      ? undefined
      : (a, _rel, _type, parent) =>
          plainAttrs(a.mode!, a.rdev, opts, parent === undefined ? undefined : img.stat(parent)),
    xattrs: opts.xattrs ?? preserve,
    hardlinks: opts.hardlinks ?? false,
    follow: opts.dereference ?? false,
    clobber: opts.clobber ?? 'error',
    onError: opts.onError,
    limit: opts.limit,
    preserve,
  })
  const src = opts.srcLabel ?? hostPath
  const dst = opts.dstLabel ?? name
  try {
    yield* eng.entry(
      hostPath,
      dir,
      name,
      name,
      src,
      dst,
      opts.recursive ?? false,
      opts.followTop ?? false,
      opts.into ?? false,
    )
  } finally {
    eng.cleanup()
  }
  eng.finish()
}
