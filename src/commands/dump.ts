import {Args, Flags} from '@oclif/core'
import {describeImage, formatManifest, manifestToJson, type JsonManifest} from '../core/index.js'
import {BaseCommand} from './_base.js'
import {inodeReport, renderInodeReport, type InodeReport} from './_shared/inode-report.js'
import {renderSuperblockReport, superblockReport, type SuperblockReport} from './_shared/superblock-report.js'

export default class Dump extends BaseCommand<typeof Dump> {
  static override summary = 'Show the superblock and space usage of an image, or one inode in detail.'

  static override description = [
    'Like dumpe2fs -h: prints the format version, UUID, label, state, feature flags, block and cluster size, block counts, inode count, compression, creation and modification times, the layout (superblock, backup superblock, bitmap, journal, tree root and height) and the bytes of file data against the bytes stored for them.',
    'With --inode N, prints inode N instead: every field of its stat, its extent table (logical offset and length, kind, first block, block count, stored bytes, CRC-32) and its extended attributes, with values shown as text when they are printable UTF-8, else in hex (short values) or base64.',
    "With --manifest, prints a manifest of every entry instead (see razorfs-manifest(5)): path, type, mode, owner, modification time (access, change and birth time too where they differ from it, or always with --all-times), size and SHA-256 of file contents, symlink targets, device numbers, flags and xattrs; a hard-linked inode is listed at its first path (depth first, names in byte order) and its other paths as hardlink entries naming it. It is the format 'razorfs mkfs --spec' reads, so an image can be reviewed, edited and rebuilt. With --json it is the JSON form of the manifest.",
  ].join('\n\n')

  static override examples = [
    {description: 'The superblock summary.', command: '<%= config.bin %> <%= command.id %> disk.img'},
    {
      description: 'The root directory (inode 1) in detail.',
      command: '<%= config.bin %> <%= command.id %> disk.img --inode 1',
    },
    {description: 'As JSON, for scripts.', command: '<%= config.bin %> <%= command.id %> disk.img --json'},
    {
      description: 'A manifest of the whole image, to review or rebuild from.',
      command: '<%= config.bin %> <%= command.id %> disk.img --manifest > disk.manifest',
    },
  ]

  static override args = {
    image: Args.string({description: 'The image file.', required: true}),
  }

  static override flags = {
    inode: Flags.integer({
      char: 'i',
      helpValue: 'N',
      min: 1,
      summary: 'Show inode N instead of the superblock.',
      exclusive: ['manifest'],
    }),
    manifest: Flags.boolean({
      char: 'm',
      summary: 'Print a manifest of every entry instead (the format mkfs --spec reads).',
    }),
    'all-times': Flags.boolean({
      summary: 'With --manifest: list atime, ctime and crtime on every entry.',
      dependsOn: ['manifest'],
    }),
  }

  public async run(): Promise<SuperblockReport | InodeReport | JsonManifest> {
    const {image} = this.args
    const {inode} = this.flags
    this.context = {image}
    return this.withImage(image, (img) => {
      if (this.flags.manifest) {
        const entries = describeImage(img, {allTimes: this.flags['all-times']})
        if (this.jsonEnabled()) return manifestToJson(entries)
        process.stdout.write(formatManifest(entries))
        return manifestToJson([])
      }
      if (inode !== undefined) {
        const report = inodeReport(img, inode)
        for (const line of renderInodeReport(report)) this.log(line)
        return report
      }
      const report = superblockReport(image, img.info(), img.stats())
      for (const line of renderSuperblockReport(report)) this.log(line)
      return report
    })
  }
}
