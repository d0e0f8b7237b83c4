import {Args, Flags} from '@oclif/core'
import {
  formatCode,
  FSCK_EXIT,
  PASS_LIST,
  PROBLEMS,
  revertRepair,
  type FsckMode,
  type FsckReport,
} from '../core/index.js'
import {BaseCommand} from './_base.js'
import {UsageError} from './_shared/errors.js'
import {EXIT} from './_shared/exit-codes.js'
import {Cancelled, runFsck} from './_shared/fsck-run.js'
import {checkImageFile} from './_shared/open.js'
import {errorEnvelope, writeJson} from './_shared/report.js'
import {colors, isInteractive} from './_shared/terminal.js'

export const FSCK_EXIT_STATUS = [
  {code: FSCK_EXIT.OK, meaning: 'No errors.'},
  {code: FSCK_EXIT.CORRECTED, meaning: 'Errors were found and corrected.'},
  {
    code: FSCK_EXIT.UNCORRECTED,
    meaning:
      'Errors were left uncorrected (-n, -p refusing an unsafe fix, a dry run, data that fails its checksum, or a repair that was rolled back).',
  },
  {
    code: FSCK_EXIT.OPERATIONAL,
    meaning: 'Operational error: the image could not be opened or checked (not a RAZORFS image, unreadable, in use).',
  },
  {code: FSCK_EXIT.USAGE, meaning: 'Usage or syntax error.'},
  {code: FSCK_EXIT.CANCELLED, meaning: 'Cancelled by the user (SIGINT).'},
]

export interface FsckResult extends Partial<FsckReport> {
  reverted?: {undo: string; blocks: number}
}

export default class Fsck extends BaseCommand<typeof Fsck> {
  static override summary = 'Check an image and, when asked, repair it (razorfsck, fsck.razorfs).'

  static override description = [
    'Runs the passes of the check: superblock (a destroyed primary is restored from the backup in the last block; a truncated file is extended), journal (committed transactions are replayed first, every one of them: committed work is never undone; a torn last one is discarded; file data a committed transaction wrote that fails its checksum is reported as JOURNAL_DATA_DAMAGED with the file and byte range, and kept as it is — repair does not turn it into a hole, reads of that range fail with a checksum error until the file is rewritten, truncated or removed), tree and inodes, extents and block ownership, directory structure and connectivity (unreachable inodes go to /lost+found), link counts, extended attributes and free space; with --check-data also every data checksum. Each problem has a stable code (listed below) and is shown with what repair does about it.',
    `Passes (a pass's number is also the high byte of the codes of the problems it finds):\n${PASS_LIST.map((p) => `Pass ${p.number}: ${p.title}`).join('\n')}`,
    'Modes: -n (the default) opens the image read-only and changes nothing; -p/-a (preen) repairs only what is safe to repair unattended and otherwise stops with exit 4; -y/--repair repairs everything it can. Without -f an image marked clean is not checked beyond its superblock.',
    "Repair cannot make an image worse: every block it overwrites is first saved to an undo log (IMAGE.undo, or --undo FILE), the image is re-checked afterwards and rolled back unless clean. A repair that fails once it has begun writing (exit 8) is rolled back too: the image file is then byte for byte as it was. A repair killed once it has begun writing is rolled back from its undo log by the next -y or -p (REPAIR_INTERRUPTED; -n reports it), as long as no other writer has opened the image since. 'fsck --undo FILE IMAGE' (without -y/-p) reverts a repair by hand. --dry-run with -y or -p prints the repair plan and writes nothing.",
    'Repair needs no free space and works on a 100% full image (mkfs --size auto makes them): the rebuilt tree goes into free blocks while there are any, else into the blocks of the old tree, already read in full. Only a block claimed by two files needs room for a copy; with none, the later claimant loses that extent (its range becomes a hole).',
    '--json prints {problems: [{code, id, pass, inode, block, path, message, action, fixed}], actions, summary, exit}. Problem codes are stable: the pass is in the high byte, and a code is never reused. "preen" marks what -p repairs by itself:',
    PROBLEMS.map(
      (p) =>
        `${formatCode(p.code)} ${p.name}${p.preenOk ? ' (preen)' : ''}: ${p.message.replace(/\{(\w+)\}/g, '<$1>')} → ${p.fix}.`,
    ).join('\n'),
  ].join('\n\n')

  static override examples = [
    {description: 'Check (read-only).', command: '<%= config.bin %> <%= command.id %> disk.img'},
    {
      description: 'Repair everything that can be repaired.',
      command: '<%= config.bin %> <%= command.id %> -y disk.img',
    },
    {
      description: 'What repair would do, as JSON.',
      command: '<%= config.bin %> <%= command.id %> -y --dry-run --json disk.img',
    },
    {
      description: 'Put back what a repair changed.',
      command: '<%= config.bin %> <%= command.id %> --undo disk.img.undo disk.img',
    },
  ]

  static override exitStatus = FSCK_EXIT_STATUS

  static override args = {
    image: Args.string({description: 'The image file.', required: true}),
  }

  static override flags = {
    n: Flags.boolean({char: 'n', summary: 'Check only: open read-only, change nothing (the default).'}),
    preen: Flags.boolean({
      char: 'p',
      summary: 'Preen: repair only what is safe without a person; exit 4 on anything else.',
    }),
    a: Flags.boolean({char: 'a', summary: 'Same as -p (for fsck(8)).', hidden: false}),
    repair: Flags.boolean({char: 'y', summary: 'Repair everything that can be repaired.'}),
    force: Flags.boolean({char: 'f', summary: 'Check even when the image is marked clean.'}),
    verbose: Flags.boolean({char: 'v', summary: 'Also list every change repair made.'}),
    'check-data': Flags.boolean({char: 'c', summary: 'Also verify the checksum of every data extent.'}),
    'dry-run': Flags.boolean({summary: 'With -y or -p: print the repair plan, write nothing.'}),
    undo: Flags.string({
      helpValue: 'FILE',
      summary: 'Where repair writes its undo log; without -y/-p, revert the repair recorded in FILE.',
    }),
  }

  protected override exitFor(exit: number): number {
    return exit === EXIT.USAGE ? FSCK_EXIT.USAGE : FSCK_EXIT.OPERATIONAL
  }

  public async run(): Promise<FsckResult> {
    const {image} = this.args
    const f = this.flags
    this.context = {image}
    const preen = f.preen || f.a
    if ([f.n, preen, f.repair].filter(Boolean).length > 1)
      throw new UsageError('only one of -n, -p/-a and -y may be given')
    checkImageFile(image)
    if (f.undo && !preen && !f.repair) {
      const r = revertRepair(f.undo, image)
      this.log(`${image}: reverted ${r.blocks} blocks from ${f.undo}`)
      return {reverted: {undo: f.undo, blocks: r.blocks}}
    }
    if (f['dry-run'] && !preen && !f.repair) throw new UsageError('--dry-run goes with -y or -p')
    const mode: FsckMode = f.repair ? 'repair' : preen ? 'preen' : 'check'
    const plain = !this.quiet && !isInteractive()
    let report: FsckReport
    try {
      report = await runFsck(
        image,
        {mode, force: f.force, checkData: f['check-data'], dryRun: f['dry-run'], undoFile: f.undo},
        {fancy: !this.quiet && isInteractive(), plain: plain ? (l) => this.log(l) : undefined},
      )
    } catch (e) {
      if (!(e instanceof Cancelled)) throw e
      const message = `${image}: cancelled; if a repair had started, revert it with 'razorfsck --undo ${f.undo ?? `${image}.undo`} ${image}'`
      const report = {code: 'ECANCELED', message, exit: FSCK_EXIT.CANCELLED}
      if (this.jsonEnabled()) writeJson(errorEnvelope(report, this.warnings))
      else process.stderr.write(`razorfsck: ${message}\n`)
      return this.exit(FSCK_EXIT.CANCELLED)
    }
    this.render(report, Boolean(f.verbose))
    if (report.exit) process.exitCode = report.exit
    return report
  }

  private render(r: FsckReport, verbose: boolean): void {
    const c = colors().out
    const s = r.summary
    if (r.skipped) {
      this.log(`${r.image}: clean, ${s.inodes} inodes, ${s.usedBlocks}/${s.blocks} blocks (use -f to check anyway)`)
      return
    }
    for (const p of r.problems) {
      const state = p.fixed
        ? c.green('FIXED')
        : r.mode === 'check'
          ? 'not fixed (-n)'
          : r.dryRun
            ? 'would fix'
            : c.red('NOT FIXED')
      this.log(`${c.bold(p.code)} ${p.id}: ${p.message}. ${p.action[0]!.toUpperCase()}${p.action.slice(1)}: ${state}`)
    }
    if (r.dryRun || verbose) {
      if (r.actions.length) this.log(r.dryRun ? 'Repair plan:' : 'Changes:')
      for (const a of r.actions) this.log(`  ${a.what}${a.field ? ` [${a.field}: ${a.old} → ${a.new}]` : ''}`)
    }
    if (r.rolledBack)
      this.log(c.red(`Repair did not leave the image clean: rolled back from ${r.undo}; the image is as it was.`))
    this.log(
      `${r.image}: ${s.inodes} inodes (${s.files} files, ${s.directories} directories), ${s.usedBlocks}/${s.blocks} blocks`,
    )
    if (r.exit & FSCK_EXIT.CORRECTED) {
      this.log(c.bold('***** IMAGE WAS MODIFIED *****'))
      this.log(`Undo log: ${r.undo} (revert with 'razorfsck --undo ${r.undo} ${r.image}')`)
    }
  }
}
