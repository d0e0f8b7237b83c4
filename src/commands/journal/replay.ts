import {Args, Flags} from '@oclif/core'
import {describeDamage, replayJournal, type ReplayResult} from '../../core/index.js'
import {BaseCommand} from '../_base.js'
import {checkImageFile} from '../_shared/open.js'

export default class JournalReplay extends BaseCommand<typeof JournalReplay> {
  static override summary = "Recover an image: write its journal's committed transactions home."

  static override description = [
    'Every read-write open does this on its own; this command does it explicitly and reports what it replayed: the committed transactions and the metadata blocks written home, and a torn or half-written last transaction that was discarded (it had not been acknowledged). Committed work is never undone: a data block that a committed transaction lists and that fails its checksum is damaged file data; the transaction is replayed all the same, the data is kept as it is, and the file and byte range (or xattr) are reported (fsck reports them as JOURNAL_DATA_DAMAGED). Replay is idempotent: running it twice, or again after a crash during replay, gives the same image.',
    'With --output, the image is copied (keeping it sparse) and the copy is recovered; the original is left untouched. With --dry-run, nothing is written: the command lists what replay would write.',
  ].join('\n\n')

  static override examples = [
    {description: 'Recover in place.', command: '<%= config.bin %> <%= command.id %> disk.img'},
    {
      description: 'Recover into a copy, keeping the original for inspection.',
      command: '<%= config.bin %> <%= command.id %> disk.img --output recovered.img',
    },
    {description: 'See what would be written.', command: '<%= config.bin %> <%= command.id %> disk.img --dry-run'},
  ]

  static override args = {
    image: Args.string({description: 'The image file.', required: true}),
  }

  static override flags = {
    output: Flags.string({
      char: 'o',
      helpValue: 'NEW.img',
      summary: 'Replay into a copy written to NEW.img; the original is not changed.',
    }),
    force: Flags.boolean({char: 'f', summary: 'With --output: replace NEW.img if it exists.'}),
    'dry-run': Flags.boolean({
      char: 'n',
      summary: 'Write nothing; list the transactions and blocks replay would write.',
    }),
  }

  public async run(): Promise<ReplayResult> {
    const {image} = this.args
    const {output, force} = this.flags
    const dryRun = this.flags['dry-run']
    this.context = {image}
    checkImageFile(image)
    const r = replayJournal(image, {output, force, dryRun})
    const what = `${r.transactions} transaction${r.transactions === 1 ? '' : 's'} (${r.blocks} block${r.blocks === 1 ? '' : 's'})`
    if (dryRun) {
      this.log(r.transactions ? `Would replay ${what} into ${r.image}:` : `${image}: nothing to replay`)
      for (const tx of r.plan ?? [])
        this.log(`  transaction ${tx.seq}: blocks ${tx.blocks.map((b) => b.block).join(', ')}`)
    } else
      this.log(
        r.transactions ? `Replayed ${what} into ${r.image}.` : `${r.image}: nothing to replay; the image is clean.`,
      )
    for (const d of r.damaged ?? [])
      this.log(`Damaged data (kept, the transaction ${dryRun ? 'would be' : 'was'} replayed): ${describeDamage(d)}`)
    if (r.discarded) this.log(`Discarded ${r.discarded.state} transaction ${r.discarded.seq}: ${r.discarded.reason}`)
    return r
  }
}
