import {Args, Flags} from '@oclif/core'
import {Image, isRazorError, populate, type PopulateResult, type PopulateWarning} from '../core/index.js'
import {BaseCommand} from './_base.js'
import {UsageError} from './_shared/errors.js'
import {checkRootDir, checkTarget, discard} from './_shared/mkfs-checks.js'
import {COMPRESSION_SYNTAX, createOptions, DEFAULTS, parseCompression} from './_shared/mkfs-options.js'
import {mkfsResult, renderMkfsResult, type MkfsResult} from './_shared/mkfs-summary.js'
import {displayName} from './_shared/names.js'
import {withProgress} from './_shared/progress.js'
import {parseSize, parseSizeOrAuto, SIZE_SYNTAX} from './_shared/size.js'
import {isInteractive} from './_shared/terminal.js'

const sizeFlag = Flags.custom<number>({helpValue: 'BYTES', parse: async (s) => parseSize(s)})

export default class Mkfs extends BaseCommand<typeof Mkfs> {
  static override summary = 'Create a RAZORFS image, optionally filled from a host directory.'

  static override description = [
    'Creates the image file IMAGE with an empty root directory and, with --root, copies the host directory DIR into it: file types, modes, owners, times, hard links, holes and extended attributes are preserved. An existing non-empty IMAGE is only replaced with --force. If mkfs fails (for example when the image is too small for DIR), the incomplete image file is removed.',
    `Sizes are ${SIZE_SYNTAX}. --size is required unless --root is given; with --root it defaults to auto, which measures DIR: file bytes rounded up to whole blocks, times 1.1, plus 256 bytes per inode and twice the bytes of names and symlink targets, plus 4 MiB, plus the journal. The image file is sparse, so unused space takes no room on the host.`,
    'When done, mkfs prints a summary: files, directories, bytes copied in, image size, space used and the compression ratio (--json prints it as an object). Progress is shown only on a terminal.',
  ].join('\n\n')

  static override examples = [
    {description: 'An empty 64 MiB image.', command: '<%= config.bin %> <%= command.id %> disk.img --size 64M'},
    {description: 'An image holding a directory tree, sized to fit.', command: '<%= config.bin %> <%= command.id %> rootfs.img --root ./rootfs'},
    {
      description: 'Uncompressed, 1 KiB blocks, with a label, replacing an existing file.',
      command: '<%= config.bin %> <%= command.id %> small.img --size 8M --block-size 1K --compression none --label boot --force',
    },
  ]

  static override args = {
    image: Args.string({description: 'The image file to create.', required: true}),
  }

  static override flags = {
    size: Flags.custom<number | 'auto'>({
      char: 's',
      helpValue: 'BYTES|auto',
      summary: 'Image size, or auto to fit --root DIR.',
      description: `Required unless --root is given; then the default is auto. Sizes are ${SIZE_SYNTAX}.`,
      parse: async (s) => parseSizeOrAuto(s),
    })(),
    'block-size': sizeFlag({char: 'b', summary: `Block size: a power of two from 1K to 64K. [default: ${DEFAULTS.blockSize}]`}),
    'cluster-size': sizeFlag({char: 'C', summary: `Compression cluster size: a power of two, a multiple of the block size, at most 1M. [default: ${DEFAULTS.clusterSize}]`}),
    label: Flags.string({char: 'L', helpValue: 'LABEL', summary: 'Volume label, at most 64 bytes of UTF-8.'}),
    uuid: Flags.string({char: 'U', helpValue: 'UUID', summary: 'Volume UUID (8-4-4-4-12 hex digits). [default: random]'}),
    compression: Flags.custom({
      helpValue: 'zstd[:LEVEL]|none',
      summary: `Compression of file data. [default: ${DEFAULTS.compression}]`,
      description: `One of ${COMPRESSION_SYNTAX}.`,
      parse: async (s) => parseCompression(s),
    })(),
    'journal-size': sizeFlag({char: 'J', summary: 'Space reserved for the journal; 0 for none. [default: 1/64 of the image, 256 to 32768 blocks]'}),
    root: Flags.string({char: 'd', helpValue: 'DIR', summary: 'Copy the host directory DIR into the image.'}),
    force: Flags.boolean({char: 'f', summary: 'Replace IMAGE if it exists and is not empty.'}),
  }

  public async run(): Promise<MkfsResult> {
    const {image} = this.args
    const {flags} = this
    this.context = {image}
    if (flags.root !== undefined) checkRootDir(flags.root, image)
    checkTarget(image, flags.force)
    const options = createOptions(flags)

    let img: Image
    try {
      img = Image.create(image, options)
    } catch (error) {
      if (isRazorError(error, 'EINVAL')) throw new UsageError(error.message)
      throw error
    }
    const warnings: PopulateWarning[] = []
    let populated: PopulateResult | undefined
    let result: MkfsResult
    try {
      if (flags.root !== undefined) {
        const root = flags.root
        populated = await withProgress(isInteractive() && !this.quiet, `Copying ${root}`, (report) =>
          populate(img, root, {
            onProgress: report,
            onWarning: (w) => {
              warnings.push(w)
              this.warnLine(`${displayName(w.path)}: ${w.message}`)
            },
          }),
        )
      }
      img.flush()
      result = mkfsResult(image, img.info(), img.stats(), populated, warnings)
      img.close()
    } catch (error) {
      discard(img, image)
      throw error
    }
    if (!this.quiet) for (const line of renderMkfsResult(result)) this.log(line)
    return result
  }
}
