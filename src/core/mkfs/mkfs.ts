/**
 * mkfs as a library call: measure the sources (size 'auto'), create the
 * image, fill it (build.ts), shrink it to fit, close it and, for a
 * reproducible build without a given UUID, stamp the UUID derived from the
 * content. `razorfs mkfs` is this plus flag parsing, the --force
 * build-beside-then-rename of an existing file, and the display.
 */
import fs from 'node:fs'
import type {Readable} from 'node:stream'
import {fail, isRazorError, RazorError} from '../errors.js'
import {DEFAULT_BLOCK_SIZE} from '../format/geometry.js'
import {defaultWorkers} from '../fs/plan-pool.js'
import {formatUuid} from '../image/create-options.js'
import {Image, type ImageInfo} from '../image/image.js'
import type {PopulateCounts, PopulateProgress, PopulateWarning} from '../host/populate.js'
import {now, type CompressionSpec, type ImageStats} from '../types.js'
import {AttrPolicy, type AttrPolicyOptions} from './attrs.js'
import {buildImage} from './build.js'
import type {BuildPhase, BuildResult, BuildWarning} from './build-context.js'
import {censusSources, estimateFromCensus, excludeOf, readSpecFile, spoolStream, type MkfsSources} from './estimate.js'
import {imageDigest, setImageUuid, uuidFromDigest} from './stamp.js'

/** A build phase, or 'fit': shrinking an auto-sized image to its contents. */
export type MkfsPhase = BuildPhase | 'fit'

export interface MkfsOptions extends MkfsSources {
  /** The image file to create. */
  image: string
  /** Bytes, or 'auto' (the default when there is a source): built in the estimate, then shrunk to fit. */
  size?: number | 'auto'
  /** With size 'auto': free space to leave, in bytes or as a percentage of the blocks in use. */
  headroom?: {bytes?: number; percent?: number}
  blockSize?: number
  clusterSize?: number
  label?: string
  /** Default: random, or derived from the content when the build is reproducible. */
  uuid?: string
  compression?: CompressionSpec
  /** Space reserved for the journal (0: none). */
  journalBytes?: number
  /** Overwrite an existing non-empty file in place. */
  force?: boolean
  /** Owner maps, --all-root and the reproducible timestamp (set: a reproducible build). */
  policy?: AttrPolicy | AttrPolicyOptions
  /** Worker threads compressing file data (0: the calling thread); default one per CPU. */
  workers?: number
  /** Pack file tails into shared packs; default true. */
  pack?: boolean
  onPhase?: (phase: MkfsPhase) => void
  onProgress?: (p: PopulateProgress & {phase: BuildPhase}) => void
  onWarning?: (w: PopulateWarning) => void
  /** Runs around the build (from the first source to the shrink), e.g. to show progress for just that part. */
  wrapBuild?: <T>(build: () => Promise<T>) => Promise<T>
  /** Called when the image is built, before it is closed; throwing discards it (razorfs mkfs --strict). */
  beforeClose?: (warnings: PopulateWarning[]) => void
}

/** What mkfs made: the image's geometry and space, and the entries copied in (PopulateCounts). */
export interface MkfsResult extends PopulateCounts {
  image: string
  uuid: string
  label: string
  version: number
  size: number
  blockSize: number
  clusterSize: number
  blocks: number
  usedBlocks: number
  freeBlocks: number
  compression: {algorithm: 'none' | 'zstd'; level: number}
  dataBytes: number
  storedBytes: number
  /** dataBytes / storedBytes (1 when nothing is stored). */
  compressionRatio: number
  /** Wall-clock seconds mkfs took. */
  seconds?: number
  /** Built reproducibly (a policy timestamp: SOURCE_DATE_EPOCH or --timestamp). */
  reproducible?: boolean
  /** The reproducible build's timestamp, seconds since 1970. */
  timestamp?: number
  /** Worker threads that compressed. */
  workers?: number
  warnings: PopulateWarning[]
}

/** data / stored, or 1 when nothing is stored. */
export function compressionRatio(dataBytes: number, storedBytes: number): number {
  return storedBytes > 0 ? dataBytes / storedBytes : 1
}

const PLACEHOLDER_UUID = '00000000-0000-0000-0000-000000000000'

const EMPTY: PopulateCounts = {files: 0, directories: 0, symlinks: 0, hardlinks: 0, specials: 0, bytesIn: 0}

function mkfsResult(
  image: string,
  info: ImageInfo,
  stats: ImageStats,
  populated: PopulateCounts | undefined,
  warnings: PopulateWarning[],
): MkfsResult {
  const p = populated ?? EMPTY
  return {
    image,
    uuid: info.uuid,
    label: info.label,
    version: info.version,
    size: stats.blocks * stats.blockSize,
    blockSize: stats.blockSize,
    clusterSize: stats.clusterSize,
    blocks: stats.blocks,
    usedBlocks: stats.usedBlocks,
    freeBlocks: stats.freeBlocks,
    compression: info.compression,
    files: p.files,
    directories: p.directories,
    symlinks: p.symlinks,
    hardlinks: p.hardlinks,
    specials: p.specials,
    bytesIn: p.bytesIn,
    dataBytes: stats.dataBytes,
    storedBytes: stats.storedBytes,
    compressionRatio: compressionRatio(stats.dataBytes, stats.storedBytes),
    warnings,
  }
}

/** After a failure: close and delete the incomplete image. */
function discard(img: Image, file: string): void {
  try {
    img.close()
  } catch {
    // already failing
  }
  fs.rmSync(file, {force: true})
}

/**
 * Create the image `o.image` and fill it from the sources, as `razorfs mkfs`
 * does. If it fails, the incomplete file is removed. Errors from invalid
 * image options are RazorErrors EINVAL with `data.options` set.
 */
export async function mkfs(o: MkfsOptions): Promise<MkfsResult> {
  const started = process.hrtime.bigint()
  const hasInput = o.root !== undefined || o.tar !== undefined || o.spec !== undefined
  const size = o.size ?? (hasInput ? 'auto' : undefined)
  if (size === undefined)
    throw fail('EINVAL', 'a size is required unless there is an input (root, tar or spec)', {options: true})
  const auto = size === 'auto'
  if (auto && !hasInput)
    throw fail('EINVAL', "size 'auto' needs an input to measure: root, tar or spec", {options: true})
  if (o.headroom !== undefined && !auto) throw fail('EINVAL', "headroom goes with size 'auto'", {options: true})
  const bs = o.blockSize ?? DEFAULT_BLOCK_SIZE
  const policy = o.policy instanceof AttrPolicy ? o.policy : new AttrPolicy(o.policy)
  const exclude = excludeOf(o.exclude)
  const spec = typeof o.spec === 'string' ? readSpecFile(o.spec) : o.spec
  const workers = o.workers ?? defaultWorkers()
  let tarFile = typeof o.tar === 'string' ? o.tar : undefined
  let cleanupTar: (() => void) | undefined
  try {
    let imageSize: number
    let journalBlocks = o.journalBytes === undefined ? undefined : Math.ceil(o.journalBytes / bs)
    if (auto) {
      if (o.tar !== undefined && typeof o.tar !== 'string') {
        const spooled = await spoolStream(o.tar.stream)
        tarFile = spooled.file
        cleanupTar = spooled.cleanup
      }
      const c = await censusSources({...o, spec}, tarFile, bs, exclude)
      const e = estimateFromCensus(c, bs, o.journalBytes, o.compression?.algorithm !== 'none')
      imageSize = e.size
      journalBlocks = e.journalBlocks
    } else imageSize = size
    const T = policy.opts.timestamp
    const deriveUuid = policy.reproducible && o.uuid === undefined
    let img: Image
    try {
      img = Image.create(o.image, {
        size: imageSize,
        blockSize: bs,
        clusterSize: o.clusterSize,
        label: o.label,
        uuid: deriveUuid ? PLACEHOLDER_UUID : o.uuid,
        compression: o.compression,
        journalBlocks,
        force: o.force ?? false,
        time: T,
        clock: T ? () => ({...T}) : undefined,
        bulk: true,
      })
    } catch (error) {
      if (isRazorError(error, 'EINVAL')) throw new RazorError('EINVAL', error.message, {...error.data, options: true})
      throw error
    }
    const warnings: PopulateWarning[] = []
    try {
      const build = async (): Promise<BuildResult> => {
        const res = await buildImage(img, {
          root: o.root,
          tar:
            o.tar === undefined
              ? undefined
              : {
                  stream:
                    tarFile === undefined
                      ? (o.tar as {stream: Readable}).stream
                      : fs.createReadStream(tarFile, {highWaterMark: 1 << 20}),
                  name: typeof o.tar === 'string' ? o.tar : o.tar.name,
                },
          spec,
          policy,
          exclude,
          workers,
          pack: o.pack,
          now: () => T ?? now(),
          onPhase: o.onPhase,
          onProgress: o.onProgress,
          onWarning: (w: BuildWarning) => {
            warnings.push(w)
            o.onWarning?.(w)
          },
        })
        if (auto) {
          o.onPhase?.('fit')
          // a percentage is of the blocks in use (all of them: metadata, journal and data)
          const h = o.headroom ?? {}
          const extra =
            h.percent !== undefined
              ? Math.ceil((img.stats().usedBlocks * h.percent) / 100)
              : Math.ceil((h.bytes ?? 0) / bs)
          img.fitToContents(extra)
        }
        return res
      }
      const built = o.wrapBuild ? await o.wrapBuild(build) : await build()
      const stats = img.stats()
      const info = img.info()
      o.beforeClose?.(warnings)
      img.close()
      let uuid = info.uuid
      if (deriveUuid) {
        const u = uuidFromDigest(imageDigest(o.image))
        setImageUuid(o.image, u)
        uuid = formatUuid(u)
      }
      const result = mkfsResult(o.image, {...info, uuid}, stats, built, warnings)
      result.seconds = Math.round((Number(process.hrtime.bigint() - started) / 1e9) * 1000) / 1000
      result.reproducible = policy.reproducible
      if (T) result.timestamp = T.sec
      result.workers = workers
      return result
    } catch (error) {
      discard(img, o.image)
      throw error
    }
  } finally {
    cleanupTar?.()
  }
}
