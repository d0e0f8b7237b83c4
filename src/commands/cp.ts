import fs from 'node:fs'
import {Args, Flags} from '@oclif/core'
import {
  copyImage,
  copyIn,
  copyStreamIn,
  extract,
  isRazorError,
  LimitReached,
  looksLikeImage,
  planCopies,
  type CopyEntryEvent,
  type CopyEvent,
  type CopyOptions,
  type CopyProblem,
  type CopyTotals,
  type CpOperand,
  type Image,
  type Placement,
} from '../core/index.js'
import {BaseCommand} from './_base.js'
import {CopyDriver} from './_shared/copy-driver.js'
import {classifyOperand, CP_OPERAND_RULE} from './_shared/cp-operands.js'
import {CommandError, UsageError} from './_shared/errors.js'
import {EXIT, EXIT_STATUS} from './_shared/exit-codes.js'
import {displayName} from './_shared/names.js'
import {ImageSet} from './_shared/open.js'
import {formatBytes, parseSize, SIZE_SYNTAX} from './_shared/size.js'
import {colors, isInteractive} from './_shared/terminal.js'

/** `cp --json`: what was copied: the copy's totals (CopyTotals), with the problems themselves instead of their number. */
export interface CpResult extends Omit<CopyTotals, 'errors'> {
  seconds: number
  errors: CopyProblem[]
  /** With --verbose: each entry, once durable. */
  copied?: Array<{src: string; dst: string}>
  /** Set when a signal stopped the copy: everything listed (or counted) before it is complete. */
  interrupted?: string
}

const show = (b: Buffer | string) => displayName(typeof b === 'string' ? Buffer.from(b) : b)

export default class Cp extends BaseCommand<typeof Cp> {
  static override summary = 'Copy files into, out of and between images.'

  static override description = [
    'Copies SOURCE to DEST, or several SOURCEs into the directory DEST, like cp(1). Either side may be inside an image: host → image, image → host, and image → image (the same image or another). razorfs cat writes a file to standard output; - as SOURCE reads standard input into a file of an image.',
    CP_OPERAND_RULE,
    'Unlike cp(1), an existing destination file is never overwritten unless -f is given (then it is replaced whole: the new copy is written under a temporary name and renamed over it); -n skips existing files silently. Directories are merged.',
    'Without -p, new files get the mode of their source without the set-user-ID, set-group-ID and sticky bits and minus the umask, belong to the user running razorfs, and get the current time, as with cp(1). -p keeps mode, owner, times (to the nanosecond, also before 1970) and extended attributes; -a is -r -p plus hard links within the copied set and device nodes. Holes stay holes both ways: all-zero blocks are not stored in an image, and files copied out are written sparse. Symbolic links given as SOURCE are followed unless -r is given; -L follows every symbolic link.',
    'Copying out of an image never writes outside DEST, even from an image made by an attacker: entries named . or .., or containing / or NUL, are refused; no symbolic link (in the image, or planted on the host while copying) is followed to place a file; set-user-ID and set-group-ID bits are kept only with -p as root; device nodes are made only with -p or -a; a directory is copied at most once (cycles are refused); memory stays bounded whatever sizes the image declares. --limit caps the total bytes written.',
    "Into an image, each file is reported done (with -v, as 'SOURCE' -> 'DEST') only after the journal commit holding it has reached the disk, so after a crash, SIGKILL, or a full image every file reported is complete and the image is consistent. SIGINT or SIGTERM stop the copy cleanly between two files (a second signal stops at once); the exit status is then 130 or 143. A full image stops the copy with a message naming the free space.",
    'Progress (files, bytes, rate) is shown on a terminal; nothing with --quiet or --verbose (whose lines are the progress), or when not on a terminal. --json prints a summary. An entry that cannot be copied is reported on stderr and the copy goes on; the exit status is then 1.',
    'Owners are numeric (uid and gid): names are not mapped between the host and the image. Extended attributes on the host go through the optional fs-xattr package (without it, a warning). Exact times on the host (to the nanosecond, and before 1970) and device nodes, fifos and sockets are made through perl, which every Debian system has; without it times are kept to the microsecond and a warning says so.',
  ].join('\n\n')

  static override examples = [
    {
      description: 'Copy a host file into an image.',
      command: '<%= config.bin %> <%= command.id %> notes.txt disk.img:/docs/',
    },
    {
      description: 'Copy a directory tree into an image, keeping everything.',
      command: '<%= config.bin %> <%= command.id %> -a ./rootfs/etc disk.img:/',
    },
    {
      description: 'Copy the whole image out to a new host directory.',
      command: '<%= config.bin %> <%= command.id %> -a disk.img: ./extracted',
    },
    {
      description: 'From one image to another.',
      command: '<%= config.bin %> <%= command.id %> -r old.img:/home new.img:/',
    },
    {
      description: 'Standard input into an image.',
      command: 'tar -c ./src | <%= config.bin %> <%= command.id %> - disk.img:/backup/src.tar',
    },
  ]

  static override strict = false

  static override args = {
    'SOURCE... DEST': Args.string({
      description: 'Files to copy and where to: host paths, IMAGE:PATH, or - (standard input) as a SOURCE.',
      required: true,
    }),
  }

  static override flags = {
    recursive: Flags.boolean({char: 'r', charAliases: ['R'], summary: 'Copy directories recursively.'}),
    preserve: Flags.boolean({char: 'p', summary: 'Keep mode, owner, times and extended attributes.'}),
    archive: Flags.boolean({char: 'a', summary: 'Same as -r -p, plus hard links and device nodes.'}),
    dereference: Flags.boolean({char: 'L', summary: 'Follow every symbolic link in SOURCE.'}),
    force: Flags.boolean({char: 'f', summary: 'Replace existing destination files.', exclusive: ['no-clobber']}),
    'no-clobber': Flags.boolean({char: 'n', summary: 'Skip existing destination files.'}),
    verbose: Flags.boolean({char: 'v', summary: "Print 'SOURCE' -> 'DEST' for each entry once it is done."}),
    limit: Flags.custom<number>({
      helpValue: 'BYTES',
      summary: 'Stop once the copy would write more than BYTES of file data.',
      description: `Holes do not count. A safety cap for untrusted images. Sizes are ${SIZE_SYNTAX}.`,
      parse: async (s) => parseSize(s),
    })(),
    commit: Flags.custom<number>({
      helpValue: 'SECONDS',
      summary: 'Commit into the image at least every SECONDS (default 1; 0: after every file).',
      description:
        'Each commit makes what was copied since the last one durable (one fsync) and reports it with -v. A shorter interval loses less to a crash and reports files sooner; a longer one costs fewer fsyncs.',
      parse: async (s) => {
        const v = Number(s)
        if (!/^\d+(\.\d+)?$/.test(s) || !Number.isFinite(v))
          throw new Error(`'${s}' is not a number of seconds (e.g. 1 or 0.1)`)
        return v
      },
    })(),
  }

  static override exitStatus = [
    ...EXIT_STATUS,
    {code: 130, meaning: 'Stopped by SIGINT (143: SIGTERM); everything reported before is complete.'},
  ]

  private errors: CopyProblem[] = []
  private copied: Array<{src: string; dst: string}> = []

  public async run(): Promise<CpResult> {
    const {argv} = await this.parse(Cp)
    const {flags} = this
    const operands = (argv as string[]).map(classifyOperand)
    if (operands.length < 2)
      throw new UsageError(
        operands.length ? `missing destination operand after '${operands[0]!.text}'` : 'missing file operand',
      )
    const dest = operands.pop()!
    const sources = operands
    if (dest.kind === 'stdin') throw new UsageError("'-' (standard input) can only be a SOURCE")
    if (sources.filter((s) => s.kind === 'stdin').length > 1)
      throw new UsageError("'-' (standard input) can be given only once")
    if (dest.kind === 'host' && sources.every((s) => s.kind !== 'image')) {
      if (looksLikeImage(dest.path))
        throw new CommandError(
          `'${dest.text}' is a RAZORFS image: to copy into it, write '${dest.text}:' or '${dest.text}:/PATH'`,
          EXIT.FAILED,
          'EEXIST',
        )
      throw new UsageError(
        `no IMAGE:PATH operand: one side must be inside an image (e.g. ${dest.text.includes(':') ? './' : ''}disk.img:/path); use cp(1) to copy between host paths`,
      )
    }
    const archive = flags.archive
    const recursive = flags.recursive || archive
    const options: CopyOptions = {
      recursive,
      preserve: flags.preserve || archive,
      hardlinks: archive,
      devices: flags.preserve || archive,
      dereference: flags.dereference,
      followTop: flags.dereference || !recursive,
      clobber: flags.force ? 'replace' : flags['no-clobber'] ? 'skip' : 'error',
      limit: flags.limit,
      onError: (p) => this.problem(p),
      onWarning: (p) => {
        this.warnLine(`${show(p.path)}: ${p.message}`, {code: p.code, path: p.path})
      },
    }

    const images = new ImageSet((m) => this.warnLine(m))
    let driver: CopyDriver | undefined
    try {
      const destImage = dest.kind === 'image' ? images.get(dest.image, true) : undefined
      if (dest.kind === 'image') this.context = {image: dest.image}
      const plan = planCopies(dest, destImage, sources, {force: flags.force})
      if (!plan.ok) throw new CommandError(plan.message, EXIT.FAILED, plan.code)
      const placeFor = (src: CpOperand): Placement | undefined => {
        const r = plan.place(src)
        if (r.ok) return r.placement
        this.problem(r.problem)
        return undefined
      }
      driver = new CopyDriver({
        dest: destImage,
        progress: isInteractive() && !this.quiet && !flags.verbose,
        title: `Copying to ${dest.text}`,
        commitMs: flags.commit === undefined ? undefined : flags.commit * 1000,
        onDone: (e) => this.done(e),
      })
      for (const src of sources) {
        if (driver.interrupted) break
        const steps = this.stepsFor(src, dest, destImage, placeFor, images, options)
        if (!steps) continue
        try {
          await driver.run(steps)
        } catch (error) {
          if (isRazorError(error, 'ENOSPC') && destImage) {
            driver.commit()
            const info = destImage.info()
            throw new CommandError(
              `${dest.kind === 'image' ? dest.image : dest.text}: no space left in the image while copying '${show(src.text)}': ${formatBytes(info.freeBlocks * info.blockSize)} free; ${driver.totals.files} file${driver.totals.files === 1 ? '' : 's'} copied before it filled up (each one complete); make a larger image (razorfs mkfs --size) or remove files (razorfs rm)`,
              EXIT.FAILED,
              'ENOSPC',
            )
          }
          if (error instanceof LimitReached) {
            if (destImage) driver.commit()
            throw new CommandError(
              `stopped: ${error.message} (--limit); ${driver.totals.files} file${driver.totals.files === 1 ? '' : 's'} copied before`,
              EXIT.FAILED,
              'ELIMIT',
            )
          }
          throw error
        }
      }
      driver.commit()
    } finally {
      await driver?.finish()
      images.closeAll()
    }
    const t = driver.totals
    const result: CpResult = {
      ...t,
      seconds: Number(driver.seconds.toFixed(3)),
      errors: this.errors,
    }
    if (flags.verbose) result.copied = this.copied
    if (driver.interrupted) {
      result.interrupted = driver.interrupted
      if (!this.jsonEnabled())
        process.stderr.write(
          `${colors().err.red('razorfs:')} interrupted by ${driver.interrupted}: ${t.files} file${t.files === 1 ? '' : 's'} copied and complete; the rest was not copied\n`,
        )
      process.exitCode = driver.interrupted === 'SIGINT' ? 130 : 143
    } else if (this.errors.length) process.exitCode = EXIT.FAILED
    return result
  }

  private problem(p: CopyProblem): void {
    this.errors.push(p)
    if (!this.jsonEnabled()) process.stderr.write(`${colors().err.red('razorfs:')} ${show(p.message)}\n`)
  }

  private done(e: CopyEntryEvent): void {
    if (!this.flags.verbose) return
    const src = e.src.toString()
    const dst = e.dst.toString()
    this.copied.push({src, dst})
    if (!this.jsonEnabled()) process.stdout.write(`'${show(e.src)}' -> '${show(e.dst)}'\n`)
  }

  private stepsFor(
    src: CpOperand,
    dest: CpOperand,
    destImage: Image | undefined,
    placeFor: (src: CpOperand) => Placement | undefined,
    images: ImageSet,
    options: CopyOptions,
  ): Iterator<CopyEvent, void> | AsyncIterator<CopyEvent, void> | undefined {
    const cannotStat = (code: string) =>
      this.problem({
        code,
        path: src.text,
        message: `cannot stat '${src.text}': ${code === 'ENOENT' ? 'No such file or directory' : code === 'ENOTDIR' ? 'Not a directory' : code}`,
      })
    if (src.kind === 'stdin') {
      if (!destImage) throw new UsageError("'-' (standard input) can only be copied into an image")
      const p = placeFor(src)
      if (!p) return undefined
      return copyStreamIn(destImage, p.dir as number, Buffer.from(p.name), process.stdin, {
        ...options,
        srcLabel: Buffer.from('-'),
        dstLabel: Buffer.from(p.label),
      })
    }
    if (src.kind === 'host') {
      if (!destImage)
        throw new UsageError(`'${src.text}' and '${dest.text}' are both host paths: one side must be IMAGE:PATH`)
      let st: fs.Stats
      try {
        st = options.followTop ? fs.statSync(src.path) : fs.lstatSync(src.path)
      } catch (e) {
        cannotStat((e as NodeJS.ErrnoException).code ?? 'EIO')
        return undefined
      }
      if (st.isDirectory() && !options.recursive) {
        this.problem({code: 'EISDIR', path: src.text, message: `-r not specified; omitting directory '${src.text}'`})
        return undefined
      }
      const p = placeFor(src)
      if (!p) return undefined
      if (p.dirOnly && !st.isDirectory()) {
        this.problem({
          code: 'ENOTDIR',
          path: dest.text,
          message: `cannot create regular file '${dest.text}': Not a directory`,
        })
        return undefined
      }
      const dir = p.dir as number
      if (p.into && !st.isDirectory()) return undefined
      if (p.into) {
        // 'DIR/.' or similar into an image directory: merge DIR's contents into it
        return copyIn(destImage, Buffer.from(src.path), dir, Buffer.alloc(0), {
          ...options,
          into: true,
          srcLabel: Buffer.from(src.text),
          dstLabel: Buffer.from(p.label),
        })
      }
      return copyIn(destImage, Buffer.from(src.path), dir, Buffer.from(p.name), {
        ...options,
        srcLabel: Buffer.from(src.text),
        dstLabel: Buffer.from(p.label),
      })
    }
    // an image source
    this.context = {image: src.image, path: src.path}
    const simg = images.get(
      src.image,
      destImage !== undefined && dest.kind === 'image' && ImageSet.same(src.image, dest.image),
    )
    let ino: number
    try {
      ino = simg.resolve(src.path, {follow: options.followTop})
      if (src.trailingSlash && simg.stat(simg.resolve(src.path, {follow: true})).type !== 'dir') {
        cannotStat('ENOTDIR')
        return undefined
      }
    } catch (e) {
      if (isRazorError(e) && (e.code === 'ENOENT' || e.code === 'ENOTDIR' || e.code === 'ELOOP')) {
        cannotStat(e.code)
        return undefined
      }
      throw e
    }
    const type = simg.stat(ino).type
    if (type === 'dir' && !options.recursive) {
      this.problem({code: 'EISDIR', path: src.text, message: `-r not specified; omitting directory '${src.text}'`})
      return undefined
    }
    const p = placeFor(src)
    if (!p) return undefined
    if (p.dirOnly && type !== 'dir') {
      this.problem({
        code: 'ENOTDIR',
        path: dest.text,
        message: `cannot create regular file '${dest.text}': Not a directory`,
      })
      return undefined
    }
    const source = {ino, path: Buffer.from(src.path), label: Buffer.from(src.text)}
    if (destImage) {
      return copyImage(
        simg,
        source,
        destImage,
        {dir: p.dir as number, name: Buffer.from(p.name), label: Buffer.from(p.label), into: p.into},
        options,
      )
    }
    return extract(
      simg,
      source,
      {dir: p.dir as string, name: Buffer.from(p.name), label: Buffer.from(p.label), into: p.into},
      options,
    )
  }
}
