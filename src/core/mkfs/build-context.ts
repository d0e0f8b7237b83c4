/**
 * What the parts of an mkfs build share: its options and result, and the
 * two steps every source needs (copying a host file through the pipeline,
 * storing xattrs with a warning for those the image refuses).
 */
import type crypto from 'node:crypto'
import fs from 'node:fs'
import type {Readable} from 'node:stream'
import {isRazorError} from '../errors.js'
import type {Image} from '../image/image.js'
import type {ManifestEntry, ManifestXattr} from '../host/manifest.js'
import type {PopulateResult} from '../host/populate.js'
import type {FileType, Timespec} from '../types.js'
import type {AttrPolicy} from './attrs.js'
import type {DataPipeline, FileHandle} from './pipeline.js'

export type BuildPhase = 'tree' | 'tar' | 'spec' | 'write'

export interface BuildProgress {
  phase: BuildPhase
  files: number
  bytes: number
  path: string
}

export interface BuildWarning {
  code: string
  path: string
  message: string
}

export interface BuildOptions {
  /** Host directory copied first. */
  root?: string
  /** Tar stream laid over it. */
  tar?: {stream: Readable; name: string}
  /** Manifest entries laid over both; `dir` resolves their src= paths. */
  spec?: {entries: ManifestEntry[]; name: string; dir: string}
  policy: AttrPolicy
  exclude?: (rel: Buffer, type: FileType) => boolean
  /** Worker threads planning file data (0: on the main thread). */
  workers: number
  /** Pack file tails into shared packs (FORMAT.md §10); default true. */
  pack?: boolean
  /** The image's clock (times of things the build makes up). */
  now: () => Timespec
  onPhase?: (phase: BuildPhase) => void
  onProgress?: (p: BuildProgress) => void
  onWarning?: (w: BuildWarning) => void
}

export type BuildResult = PopulateResult & {implicitDirs: number}

/** Read a host file through the pipeline and write it into `ino` now; returns the bytes, hashing them if asked. */
export function copyHostFile(pipe: DataPipeline, src: Buffer | string, ino: number, hash?: crypto.Hash): number {
  const fd = fs.openSync(src, 'r')
  let h: FileHandle
  try {
    pipe.begin()
    pipe.readFd(fd, hash)
    h = pipe.end()
  } catch (e) {
    pipe.abort()
    throw e
  } finally {
    fs.closeSync(fd)
  }
  return pipe.writeFile(h, ino)
}

export function setXattrs(
  img: Image,
  ino: number,
  xattrs: ManifestXattr[] | undefined,
  shown: string,
  warn: (w: BuildWarning) => void,
): void {
  for (const x of xattrs ?? []) {
    try {
      img.setXattr(ino, x.name, x.value)
    } catch (e) {
      if (!isRazorError(e) || e.code === 'ENOSPC') throw e
      warn({code: 'XATTR_SKIPPED', path: shown, message: `xattr ${x.name} not stored: ${e.message}`})
    }
  }
}
