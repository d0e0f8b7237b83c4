import {Args} from '@oclif/core'
import {describeDamage, inspectJournal, type JournalReport} from '../../core/index.js'
import {BaseCommand} from '../_base.js'
import {checkImageFile} from '../_shared/open.js'

export default class JournalShow extends BaseCommand<typeof JournalShow> {
  static override summary = "List the transactions in an image's journal, without replaying them."

  static override description = [
    'Like debugfs logdump: reads the write-ahead journal from its head and prints each transaction with its sequence number, its state (committed: complete and verified; incomplete: torn or half-written, discarded by recovery; corrupt: its descriptor is damaged) and the home blocks it writes, with the kind of metadata each holds. A data block a committed transaction lists that fails its checksum is shown as damaged data, with the file and byte range (or xattr) it holds: recovery redoes the transaction all the same and keeps the data as it is (fsck reports it as JOURNAL_DATA_DAMAGED). The image is opened read-only and never changed.',
    'A cleanly closed image has an empty journal: recovery is needed only when the needs_recovery feature is set (the image was open for writing when it was last used).',
  ].join('\n\n')

  static override examples = [
    {description: 'What a crashed image would replay.', command: '<%= config.bin %> <%= command.id %> disk.img'},
    {description: 'As JSON.', command: '<%= config.bin %> <%= command.id %> disk.img --json'},
  ]

  static override args = {
    image: Args.string({description: 'The image file.', required: true}),
  }

  public async run(): Promise<JournalReport> {
    const {image} = this.args
    this.context = {image}
    checkImageFile(image)
    const r = inspectJournal(image)
    if (!r.size) {
      this.log(`${image}: no journal`)
      return r
    }
    this.log(
      `Journal: ${r.size} blocks, head at ${r.head}, next sequence ${r.seq}; ${r.needsRecovery ? 'needs recovery' : 'clean (nothing to replay)'}`,
    )
    if (!r.needsRecovery) return r
    if (!r.transactions.length) this.log('No transactions.')
    for (const tx of r.transactions) {
      this.log(
        `Transaction ${tx.seq}: ${tx.state}, ${tx.length} journal blocks at ${tx.start}, ${tx.blocks.length} home blocks${tx.reason ? ` (${tx.reason})` : ''}`,
      )
      for (const b of tx.blocks) this.log(`  block ${b.block} (${b.kind})`)
      for (const d of r.damaged?.filter((x) => x.seq === tx.seq) ?? []) this.log(`  damaged data: ${describeDamage(d)}`)
    }
    return r
  }
}
