import fs from 'node:fs'
import path from 'node:path'
import {Args, Flags} from '@oclif/core'
import {
  AttrPolicy,
  buildImage,
  defaultWorkers,
  excluder,
  formatUuid,
  Image,
  imageDigest,
  isRazorError,
  now,
  parseIdMap,
  setImageUuid,
  uuidFromDigest,
  type BuildResult,
  type Timespec,
} from '../core/index.js'
import {acquireWriterLock} from '../core/io/lock.js'
import {BaseCommand} from './_base.js'
import type {ExitCode} from './_shared/exit-codes.js'
import {CommandError, describeError, HostError, isSystemError, UsageError} from './_shared/errors.js'
import {checkRootDir, checkTarget, discard} from './_shared/mkfs-checks.js'
import {
  COMPRESSION_SYNTAX,
  createOptions,
  DEFAULTS,
  parseCompression,
  parseHeadroom,
  parseTimestamp,
} from './_shared/mkfs-options.js'
import {
  addCensus,
  censusRoot,
  censusSpec,
  censusTar,
  emptyCensus,
  estimateFromCensus,
  readSpec,
  spoolStdin,
  type Estimate,
} from './_shared/mkfs-sources.js'
import {mkfsResult, renderMkfsResult, type MkfsResult} from './_shared/mkfs-summary.js'
import {displayName} from './_shared/names.js'
import {PROGRESS_MODES, resolveMode, withReporter, type ProgressMode} from './_shared/reporter.js'
import {formatBytes, parseSize, parseSizeOrAuto, SIZE_SYNTAX} from './_shared/size.js'

const sizeFlag = Flags.custom<number>({helpValue: 'BYTES', parse: async (s) => parseSize(s)})

const PLACEHOLDER_UUID = '00000000-0000-0000-0000-000000000000'

export interface EstimateResult {
  estimate: number
  journalBytes: number
  inodes: number
  dataBytes: number
}

export default class Mkfs extends BaseCommand<typeof Mkfs> {
  static override summary = 'Create a RAZORFS image, optionally filled from a directory, a tar archive and a manifest.'

  static override description = [
    "Creates the image file IMAGE with an empty root directory and fills it from up to three sources, applied in this order: --root DIR copies a host directory (file types, modes, owners, times, hard links, holes and extended attributes are preserved); --tar FILE (or - for standard input) lays a tar archive over it (ustar, pax and GNU formats, gzip-compressed or not: long names, hard links, symlinks, devices, fifos, nanosecond pax times and xattrs from SCHILY.xattr.*, LIBARCHIVE.xattr.* and RHT.security.selinux records; owners are the numeric ids); --spec FILE then adds or overrides entries from a manifest. An existing non-empty IMAGE is only replaced with --force, and only by a finished image: mkfs builds the new one beside it (in a hidden file .IMAGE.mkfs-PID in the same directory, while holding IMAGE's writer lock) and renames it over IMAGE at the end, keeping IMAGE's permissions; if mkfs fails, IMAGE is left as it was. If mkfs fails, the incomplete image file is removed (mkfs killed by a signal can leave it behind). Errors name IMAGE.",
    'A manifest (see razorfs-manifest(5)) has one line per entry: its absolute path, its type (dir, file, symlink, hardlink, char, block, fifo or socket) and KEY=VALUE fields: mode=OCTAL, uid=N, gid=N, mtime=SECONDS[.NANOSECONDS] (also atime, ctime, crtime), target=PATH (symlinks and hardlinks), dev=MAJOR,MINOR (devices), size=N and sha256=HEX (checked against the content), src=HOSTFILE (content for a file that no source has, relative to the manifest), flags=nocompress and xattr.NAME=VALUE. Bytes that are not printable are written \\xHH, and a backslash \\\\. An entry that exists gets the fields the line gives and keeps the others; an entry that does not exist is created (with missing parent directories, owned by root, mode 0755); a different type replaces it. razorfs dump --manifest writes this format (or its JSON form, also accepted here) for an existing image, so an image can be reviewed, edited and rebuilt. Example lines: "/dev/console char mode=0600 uid=0 gid=5 dev=5,1", "/etc/motd file mode=0644 src=files/motd", "/usr/bin/ping file xattr.security.capability=\\x01\\x00\\x00\\x02\\x00\\x20\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00".',
    '--exclude PATTERN leaves out entries of --root and --tar: * matches within a path component, ** across components, ? one character, [...] a class; a pattern without a slash matches the name at any depth (*.o, .git), one with a slash is anchored at the root (/var/cache, usr/share/doc), a trailing slash matches directories only, and an excluded directory takes its contents along. --all-root makes every owner 0:0; --uid-map and --gid-map rewrite owners by FROM:TO or FROM:TO:COUNT ranges, comma-separated (after --all-root). Manifest entries keep the owners they give.',
    "Reproducible builds: with SOURCE_DATE_EPOCH set in the environment (or --timestamp), two builds of the same input give byte-identical images, whatever the host's directory order, atimes, umask, clock or number of worker threads. Times newer than the timestamp are clamped to it (older ones are kept, as tar --clamp-mtime does); access, change and birth times, which record what the build host did, become the clamped modification time; everything mkfs records itself (the creation and modification times of the image, made-up parent directories, the change time of a file that gets a second name) gets the timestamp; and without --uuid the UUID is derived from the image content (a SHA-256 of every block in use), so no other flag is needed.",
    `Sizes are ${SIZE_SYNTAX}. --size defaults to auto when there is an input: mkfs builds in an image sized for the input uncompressed (file bytes rounded up to whole blocks, times 1.1, plus 256 bytes per inode and twice the bytes of names, link targets and xattrs, plus 4 MiB, plus the journal), then shrinks it to the blocks the contents use plus --headroom (the layout does not move: when the smaller image needs fewer bitmap blocks, the journal grows by them). The journal then defaults to 1/64 of half the uncompressed estimate (256 to 32768 blocks). A tar read from standard input with --size auto is first copied to a temporary file to be measured. --estimate prints that uncompressed estimate without building anything.`,
    'File data is compressed on worker threads (--workers, by default one per CPU) while the main thread reads the input and writes the image; the image does not depend on the number of workers. File tails (the bytes after the last full cluster, so also whole small files) are packed together into shared compressed packs of one cluster, in input order, and identical tails are stored once (razorfs(5), "Packs"); --no-pack stores each file on its own. The image is built without journal transactions (one flush at the end): it is only valid once mkfs has finished; its journal is used from the next read-write open.',
    'Progress: drawn on a terminal; plain log lines on standard error when it is not a terminal or CI is set; --progress=json streams NDJSON events on standard error instead (one object per line: {"event":"phase","phase":"tree"}, {"event":"progress","phase":"tree","files":N,"bytes":N,"path":"..."}, {"event":"warning","code":"...","path":"...","message":"..."}, {"event":"done",...}, each with "elapsed" seconds); --quiet shows nothing. When done, mkfs prints a summary: files, directories, bytes copied in, image size, space used, compression ratio and time (--json prints it as an object). --strict turns any warning or skipped entry into a failure (exit 1, and the new image is removed; an IMAGE it was to replace stays as it was).',
  ].join('\n\n')

  static override examples = [
    {description: 'An empty 64 MiB image.', command: '<%= config.bin %> <%= command.id %> disk.img --size 64M'},
    {
      description: 'An image holding a directory tree, sized to fit.',
      command: '<%= config.bin %> <%= command.id %> rootfs.img --root ./rootfs',
    },
    {
      description:
        'A reproducible image of a container export, owned by root, with 10% free space, failing on any warning.',
      command:
        'docker export c1 | SOURCE_DATE_EPOCH=1700000000 <%= config.bin %> <%= command.id %> rootfs.img --tar - --all-root --headroom 10% --strict',
    },
    {
      description: 'A tree plus device nodes and owners an unprivileged build cannot make, described in a manifest.',
      command: '<%= config.bin %> <%= command.id %> rootfs.img --root ./rootfs --spec devices.manifest',
    },
    {
      description: 'Rebuild an image from its manifest (after editing it) with the content from a tree.',
      command:
        '<%= config.bin %> dump old.img --manifest > m.txt && <%= config.bin %> <%= command.id %> new.img --root ./rootfs --spec m.txt',
    },
    {
      description: 'How large would the image be, at most?',
      command: '<%= config.bin %> <%= command.id %> --estimate --root ./rootfs',
    },
    {
      description: 'Progress for another program, as JSON lines on stderr; the summary as JSON on stdout.',
      command: '<%= config.bin %> <%= command.id %> out.img --tar layer.tar.gz --progress json --json',
    },
    {
      description: 'Uncompressed, 1 KiB blocks, with a label, replacing an existing file.',
      command:
        '<%= config.bin %> <%= command.id %> small.img --size 8M --block-size 1K --compression none --label boot --force',
    },
  ]

  static override args = {
    image: Args.string({description: 'The image file to create (not with --estimate).', required: false}),
  }

  static override flags = {
    root: Flags.string({char: 'd', helpValue: 'DIR', summary: 'Copy the host directory DIR into the image.'}),
    tar: Flags.string({
      char: 't',
      helpValue: 'FILE|-',
      summary: 'Lay the tar archive FILE (- for standard input) over the image.',
    }),
    spec: Flags.string({
      helpValue: 'FILE',
      summary: 'Add or override entries from the manifest FILE (see razorfs-manifest(5)).',
    }),
    exclude: Flags.string({
      char: 'x',
      helpValue: 'PATTERN',
      multiple: true,
      summary: 'Leave out entries of --root and --tar matching PATTERN (repeatable).',
    }),
    'all-root': Flags.boolean({summary: 'Make every owner of --root and --tar entries root (0:0).'}),
    'uid-map': Flags.string({
      helpValue: 'FROM:TO[:COUNT],...',
      summary: 'Rewrite user ids of --root and --tar entries.',
    }),
    'gid-map': Flags.string({
      helpValue: 'FROM:TO[:COUNT],...',
      summary: 'Rewrite group ids of --root and --tar entries.',
    }),
    timestamp: Flags.string({
      helpValue: 'SECONDS',
      summary: 'Build reproducibly with this time (seconds since 1970), as SOURCE_DATE_EPOCH does.',
    }),
    size: Flags.custom<number | 'auto'>({
      char: 's',
      helpValue: 'BYTES|auto',
      summary: 'Image size, or auto to fit the input.',
      description: `Required unless there is an input (--root, --tar, --spec); then the default is auto. Sizes are ${SIZE_SYNTAX}.`,
      parse: async (s) => parseSizeOrAuto(s),
    })(),
    headroom: Flags.string({
      helpValue: 'BYTES|N%',
      summary: 'With --size auto: free space to leave, in bytes or as a percentage of the space used. [default: 0]',
    }),
    estimate: Flags.boolean({summary: 'Print the size --size auto would start from, and build nothing.'}),
    'block-size': sizeFlag({
      char: 'b',
      summary: `Block size: a power of two from 1K to 64K. [default: ${DEFAULTS.blockSize}]`,
    }),
    'cluster-size': sizeFlag({
      char: 'C',
      summary: `Compression cluster size: a power of two, a multiple of the block size, at most 1M. [default: ${DEFAULTS.clusterSize}]`,
    }),
    label: Flags.string({char: 'L', helpValue: 'LABEL', summary: 'Volume label, at most 64 bytes of UTF-8.'}),
    uuid: Flags.string({
      char: 'U',
      helpValue: 'UUID',
      summary: 'Volume UUID (8-4-4-4-12 hex digits). [default: random; derived from the content when reproducible]',
    }),
    compression: Flags.custom({
      helpValue: 'zstd[:LEVEL]|none',
      summary: `Compression of file data. [default: ${DEFAULTS.compression}]`,
      description: `One of ${COMPRESSION_SYNTAX}.`,
      parse: async (s) => parseCompression(s),
    })(),
    'journal-size': sizeFlag({
      char: 'J',
      summary:
        'Space reserved for the journal: at least 64 blocks, or 0 for none. [default: 1/64 of the image, 256 to 32768 blocks]',
    }),
    pack: Flags.boolean({
      default: true,
      allowNo: true,
      summary:
        'Pack file tails and small files together into shared compressed packs, identical tails stored once (--no-pack: each file on its own). [default: on]',
    }),
    workers: Flags.integer({
      helpValue: 'N',
      min: 0,
      max: 64,
      summary: 'Worker threads compressing file data; 0 compresses on the main thread. [default: one per CPU]',
    }),
    progress: Flags.string({
      options: [...PROGRESS_MODES],
      default: 'auto',
      summary:
        'Progress display: auto (tty on a terminal, plain otherwise, none when quiet), tty, plain, json (NDJSON on stderr) or none.',
    }),
    force: Flags.boolean({
      char: 'f',
      summary:
        'Replace IMAGE if it exists and is not empty (once the new image is complete; a failed mkfs leaves it as it was).',
    }),
  }

  public async run(): Promise<MkfsResult | EstimateResult> {
    const started = process.hrtime.bigint()
    const {flags} = this
    const image = this.args.image
    const hasInput = flags.root !== undefined || flags.tar !== undefined || flags.spec !== undefined
    if (flags.estimate) {
      if (image !== undefined) throw new UsageError('--estimate builds nothing: give no IMAGE')
      if (!hasInput) throw new UsageError('--estimate needs an input: --root DIR, --tar FILE or --spec FILE')
    } else if (image === undefined) throw new UsageError('missing IMAGE')
    this.context = {image}
    if (flags.root !== undefined) checkRootDir(flags.root, image ?? '')
    if (flags.tar === '-' && process.stdin.isTTY)
      throw new UsageError('--tar -: standard input is a terminal; pipe a tar archive into mkfs')
    if (flags.tar !== undefined && flags.tar !== '-') {
      let st: fs.Stats
      try {
        st = fs.statSync(flags.tar)
      } catch (e) {
        throw new HostError(flags.tar, (e as NodeJS.ErrnoException).code ?? 'EIO', 'cannot read the tar archive')
      }
      if (st.isDirectory())
        throw new HostError(
          flags.tar,
          'EISDIR',
          'is a directory; --tar needs an archive file (or - for standard input)',
        )
    }
    if (!flags.estimate) checkTarget(image!, flags.force)
    // an existing non-empty file (--force) is replaced only by a complete image: build beside it, then rename over it
    const replacing = !flags.estimate && replaceTarget(image!)
    const work = replacing ? replacing.temp : image!
    const spec = flags.spec === undefined ? undefined : readSpec(flags.spec)
    const policy = this.policy()
    let exclude: ReturnType<typeof excluder>
    try {
      exclude = excluder(flags.exclude)
    } catch (e) {
      throw new UsageError((e as Error).message)
    }
    const workers = flags.workers ?? defaultWorkers()
    const options = createOptions(flags, hasInput)
    const bs = options.blockSize!
    const auto = options.size === 'auto'
    if (flags.headroom !== undefined && !auto && !flags.estimate)
      throw new UsageError('--headroom goes with --size auto')
    const headroom = parseHeadroom(flags.headroom ?? '0')

    let tarFile = flags.tar
    let cleanupTar: (() => void) | undefined
    let releaseTarget: (() => void) | undefined
    try {
      // a replaced image keeps its writer lock while the new one is built: nobody writes to the file about to go
      if (replacing) releaseTarget = acquireWriterLock(image!)
      let estimate: Estimate | undefined
      if (auto || flags.estimate) {
        if (tarFile === '-') {
          const spooled = await spoolStdin()
          tarFile = spooled.file
          cleanupTar = spooled.cleanup
        }
        let c = flags.root !== undefined ? censusRoot(flags.root, bs) : emptyCensus()
        if (tarFile !== undefined) c = addCensus(c, await censusTar(tarFile, bs))
        if (spec) c = addCensus(c, censusSpec(spec.entries, spec.dir, bs))
        estimate = estimateFromCensus(c, bs, flags['journal-size'], options.compression?.algorithm !== 'none')
        if (flags.estimate) {
          const r: EstimateResult = {
            estimate: estimate.size,
            journalBytes: estimate.journalBlocks * bs,
            inodes: c.inodes,
            dataBytes: c.blockBytes,
          }
          if (!this.quiet) {
            this.log(
              `At most ${formatBytes(r.estimate)} (${r.estimate.toLocaleString('en-US')} bytes): ${c.inodes.toLocaleString('en-US')} inodes, ${formatBytes(c.blockBytes)} of file data uncompressed, a ${formatBytes(r.journalBytes)} journal.`,
            )
            this.log(
              '--size auto builds in an image this large, then shrinks it to what the contents use (plus --headroom).',
            )
          }
          return r
        }
        options.size = estimate.size
        options.journalBlocks = estimate.journalBlocks
      }
      const reproducible = policy.reproducible
      const T = policy.opts.timestamp
      const deriveUuid = reproducible && flags.uuid === undefined
      let img: Image
      try {
        img = Image.create(work, {
          ...options,
          size: options.size as number,
          uuid: deriveUuid ? PLACEHOLDER_UUID : options.uuid,
          time: T,
          clock: T ? () => ({...T}) : undefined,
          bulk: true,
        })
      } catch (error) {
        if (isRazorError(error, 'EINVAL')) throw new UsageError(error.message)
        throw error
      }
      const clock = () => T ?? now()
      const mode = resolveMode(flags.progress as ProgressMode, this.quiet)
      let built: BuildResult
      let result: MkfsResult
      const warnings: Array<{code: string; path: string; message: string}> = []
      try {
        built = await withReporter(mode, 'razorfs mkfs', async (r) => {
          r.event('start', {
            image,
            sources: {root: flags.root, tar: flags.tar, spec: flags.spec},
            workers,
            reproducible,
          })
          const titles = {
            tree: `Copying ${flags.root}`,
            tar: `Reading ${flags.tar === '-' ? 'standard input' : flags.tar}`,
            spec: `Applying ${flags.spec}`,
            write: 'Writing',
          }
          const res = await buildImage(img, {
            root: flags.root,
            tar:
              tarFile === undefined
                ? undefined
                : {
                    stream: tarFile === '-' ? process.stdin : fs.createReadStream(tarFile, {highWaterMark: 1 << 20}),
                    name: flags.tar!,
                  },
            spec: spec && {entries: spec.entries, name: flags.spec!, dir: spec.dir},
            policy,
            exclude,
            workers,
            pack: flags.pack,
            now: clock,
            onPhase: (p) => r.phase(p, titles[p]),
            onProgress: (p) => r.progress(p),
            onWarning: (w) => {
              warnings.push(w)
              r.warning(w)
              this.warnLine(`${displayName(w.path)}: ${w.message}`)
            },
          })
          if (auto) {
            r.phase('fit', 'Shrinking to fit')
            // a percentage is of the blocks in use (all of them: metadata, journal and data)
            const extra =
              headroom.percent !== undefined
                ? Math.ceil((img.stats().usedBlocks * headroom.percent) / 100)
                : Math.ceil((headroom.bytes ?? 0) / bs)
            img.fitToContents(extra)
          }
          return res
        })
        const stats = img.stats()
        const info = img.info()
        if (this.flags.strict && this.warnings.length) {
          discard(img, work)
          this.enforceStrict()
        }
        img.close()
        let uuid = info.uuid
        if (deriveUuid) {
          const u = uuidFromDigest(imageDigest(work))
          setImageUuid(work, u)
          uuid = formatUuid(u)
        }
        if (replacing) replacing.commit()
        const seconds = Number(process.hrtime.bigint() - started) / 1e9
        result = mkfsResult(image!, {...info, uuid}, stats, built, warnings)
        result.seconds = Math.round(seconds * 1000) / 1000
        result.reproducible = reproducible
        if (T) result.timestamp = T.sec
        result.workers = workers
        if (mode === 'json')
          process.stderr.write(JSON.stringify({event: 'done', ...summaryEvent(result), elapsed: result.seconds}) + '\n')
      } catch (error) {
        discard(img, work)
        throw error
      }
      if (!this.quiet) for (const line of renderMkfsResult(result)) this.log(line)
      return result
    } catch (error) {
      throw failure(error, image!, work, replacing !== undefined)
    } finally {
      releaseTarget?.()
      cleanupTar?.()
    }
  }

  /** Owner maps, clamping and the reproducible timestamp from flags and SOURCE_DATE_EPOCH. */
  private policy(): AttrPolicy {
    const {flags} = this
    let timestamp: Timespec | undefined
    if (flags.timestamp !== undefined) timestamp = parseTimestamp(flags.timestamp, '--timestamp')
    else if (process.env.SOURCE_DATE_EPOCH !== undefined && process.env.SOURCE_DATE_EPOCH !== '')
      timestamp = parseTimestamp(process.env.SOURCE_DATE_EPOCH, 'SOURCE_DATE_EPOCH')
    const map = (text: string | undefined, what: string) => {
      if (text === undefined) return undefined
      try {
        return parseIdMap(text, what)
      } catch (e) {
        throw new UsageError((e as Error).message)
      }
    }
    return new AttrPolicy({
      allRoot: flags['all-root'],
      uidMap: map(flags['uid-map'], '--uid-map'),
      gidMap: map(flags['gid-map'], '--gid-map'),
      timestamp,
    })
  }
}

function summaryEvent(r: MkfsResult): Record<string, unknown> {
  const {warnings, ...rest} = r
  return {...rest, warnings: warnings.length}
}

/**
 * With --force over an existing non-empty file: where to build instead (a
 * hidden file beside it, so the rename stays on one file system) and how to
 * put the finished image in its place, with the old file's permissions.
 * undefined when there is nothing to keep (no file, or an empty one).
 */
function replaceTarget(image: string): {temp: string; commit: () => void} | undefined {
  let st: fs.Stats
  try {
    st = fs.statSync(image)
  } catch {
    return undefined
  }
  if (!st.isFile() || st.size === 0) return undefined
  const real = fs.realpathSync(image)
  // replacing is writing to it: a file we may not write is refused, as opening it would be
  fs.accessSync(real, fs.constants.W_OK)
  const temp = path.join(path.dirname(real), `.${path.basename(real)}.mkfs-${process.pid}`)
  return {
    temp,
    commit: () => {
      fs.chmodSync(temp, st.mode & 0o7777)
      try {
        fs.chownSync(temp, st.uid, st.gid)
      } catch {
        // not root: the new file is ours
      }
      fs.renameSync(temp, real)
    },
  }
}

/** The error mkfs reports: it names IMAGE (not the file built beside it) and says what became of an existing IMAGE. */
function failure(error: unknown, image: string, work: string, replacing: boolean): unknown {
  if (isSystemError(error) && error.code === 'EFBIG' && (error.path === work || error.path === image))
    error = new HostError(
      image,
      'EFBIG',
      'the host file system does not allow a file that large; give a smaller --size',
    )
  else if (isSystemError(error) && error.path === work) error.path = image
  if (!replacing) return error
  const r = describeError(error, {image})
  const message = r.message.split(work).join(image)
  return new CommandError(`${message} (the existing ${image} was left as it was)`, r.exit as ExitCode, r.code, r.data)
}
