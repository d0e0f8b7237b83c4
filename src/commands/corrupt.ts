import {Args, Flags} from '@oclif/core'
import {corrupt, CORRUPTIONS, type CorruptResult} from '../core/index.js'
import {BaseCommand} from './_base.js'
import {UsageError} from './_shared/errors.js'
import {checkImageFile} from './_shared/open.js'

export default class Corrupt extends BaseCommand<typeof Corrupt> {
  static override summary = 'Damage an image in one precise, named way (to test repair pipelines).'

  static override description = [
    "Applies one corruption of the kind named by --kind to IMAGE, in place, and prints what it did. The kinds are the ones behind razorfs's own fsck test images (fixtures/fsck): a zeroed or damaged superblock, a bad tree block, a directory entry to a missing inode, a block claimed twice, a directory cycle, a wrong link count, a leaked block, a truncated file, a damaged extent, a corrupt xattr, a torn journal, ... and random (seeded bit flips). --list shows them all.",
    'The choice of what to damage (which file, which leaf) is fixed by --seed, or by --target (a path inside the image or an inode number). Work on a copy: the damage is real.',
  ].join('\n\n')

  static override examples = [
    {description: 'List the kinds.', command: '<%= config.bin %> <%= command.id %> --list'},
    {
      description: 'Point a directory entry at a missing inode, then see fsck find and fix it.',
      command: '<%= config.bin %> <%= command.id %> copy.img --kind dirent-to-missing && razorfsck -fy copy.img',
    },
    {
      description: 'Damage a given file.',
      command: '<%= config.bin %> <%= command.id %> copy.img --kind nlink-high --target /etc/hosts',
    },
  ]

  static override args = {
    image: Args.string({description: 'The image file (it is changed).', required: false}),
  }

  static override flags = {
    kind: Flags.string({char: 'k', helpValue: 'KIND', summary: 'The corruption to apply (see --list).'}),
    seed: Flags.integer({char: 's', helpValue: 'N', default: 1, summary: 'Seed for the choices the kind makes.'}),
    target: Flags.string({
      char: 't',
      helpValue: 'PATH|INODE',
      summary: 'What to damage: a path inside the image or an inode number.',
    }),
    list: Flags.boolean({char: 'l', summary: 'List the kinds and exit.'}),
  }

  public async run(): Promise<CorruptResult | Array<{kind: string; about: string}>> {
    const f = this.flags
    if (f.list) {
      const kinds = CORRUPTIONS.map((k) => ({kind: k.name, about: k.about}))
      for (const k of kinds) this.log(`${k.kind.padEnd(28)} ${k.about}`)
      return kinds
    }
    const {image} = this.args
    if (!image) throw new UsageError('missing IMAGE (or give --list)')
    if (!f.kind) throw new UsageError("missing --kind; 'razorfs corrupt --list' shows the kinds")
    this.context = {image}
    checkImageFile(image)
    const target = f.target === undefined ? undefined : /^\d+$/.test(f.target) ? Number(f.target) : f.target
    const r = corrupt(image, f.kind, {seed: f.seed, target})
    this.log(`${image}: ${r.kind}: ${r.description}`)
    return r
  }
}
