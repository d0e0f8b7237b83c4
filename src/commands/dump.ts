import {Args, Flags} from '@oclif/core'
import {BaseCommand} from './_base.js'
import {inodeReport, renderInodeReport, type InodeReport} from './_shared/inode-report.js'
import {renderSuperblockReport, superblockReport, type SuperblockReport} from './_shared/superblock-report.js'

export default class Dump extends BaseCommand<typeof Dump> {
  static override summary = 'Show the superblock and space usage of an image, or one inode in detail.'

  static override description = [
    'Like dumpe2fs -h: prints the format version, UUID, label, state, feature flags, block and cluster size, block counts, inode count, compression, creation and modification times, the layout (superblock, backup superblock, bitmap, journal, tree root and height) and the bytes of file data against the bytes stored for them.',
    'With --inode N, prints inode N instead: every field of its stat, its extent table (logical offset and length, kind, first block, block count, stored bytes, CRC-32) and its extended attributes, with values shown as text when they are printable UTF-8, else in hex (short values) or base64.',
  ].join('\n\n')

  static override examples = [
    {description: 'The superblock summary.', command: '<%= config.bin %> <%= command.id %> disk.img'},
    {description: 'The root directory (inode 1) in detail.', command: '<%= config.bin %> <%= command.id %> disk.img --inode 1'},
    {description: 'As JSON, for scripts.', command: '<%= config.bin %> <%= command.id %> disk.img --json'},
  ]

  static override args = {
    image: Args.string({description: 'The image file.', required: true}),
  }

  static override flags = {
    inode: Flags.integer({char: 'i', helpValue: 'N', min: 1, summary: 'Show inode N instead of the superblock.'}),
  }

  public async run(): Promise<SuperblockReport | InodeReport> {
    const {image} = this.args
    const {inode} = this.flags
    this.context = {image}
    return this.withImage(image, (img) => {
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
