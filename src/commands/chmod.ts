import {Args, Flags} from '@oclif/core'
import {chmodTree, isRazorError, modeDescription, parseMode, permString, type ChmodEntry} from '../core/index.js'
import {EditCommand, opError, OperandError, umask, type EditResult} from './_shared/edit.js'
import {UsageError} from './_shared/errors.js'
import {OPERAND_RULE} from './_shared/operand.js'

export default class Chmod extends EditCommand<typeof Chmod> {
  static override summary = 'Change the mode of files inside an image.'

  static override description = [
    'Like chmod(1), with the same MODE syntax: octal (755, 4755, 00755) or symbolic ([ugoa]*[-+=][rwxXst]* or [ugo], comma-separated, e.g. u+x,go-w or a=rX). A symbolic mode without u, g, o or a is limited by the umask, and chmod then says so if the result is not what the mode asked for. As on Linux, a directory keeps its set-user-ID and set-group-ID bits under a numeric mode of up to four digits unless the mode names them (00755 clears them).',
    'A symbolic link given as an operand is followed (links have no mode of their own); with -R, symbolic links met inside directories are skipped. A MODE starting with - is taken as a mode, as chmod(1) does (razorfs chmod -w disk.img:/f); then, if the umask made the result differ from the mode, chmod says so and exits 1.',
    'Each change is one journaled operation; the image is committed before razorfs exits.',
    OPERAND_RULE,
  ].join('\n\n')

  static override examples = [
    {
      description: 'Make a script executable.',
      command: '<%= config.bin %> <%= command.id %> +x disk.img:/usr/local/bin/start',
    },
    {
      description: 'Everything under /srv readable by all, directories searchable.',
      command: '<%= config.bin %> <%= command.id %> -R a+rX disk.img:/srv',
    },
  ]

  static override strict = false

  static override args = {
    MODE: Args.string({description: 'The new mode, octal or symbolic.', required: true}),
    'IMAGE:PATH...': Args.string({description: 'Files to change.', required: true}),
  }

  static override flags = {
    recursive: Flags.boolean({char: 'R', summary: 'Change files and directories recursively.'}),
    verbose: Flags.boolean({char: 'v', summary: 'Print a line for every file processed.'}),
    changes: Flags.boolean({char: 'c', summary: 'Like --verbose, but only for changes.'}),
  }

  /** Set when MODE was written like an option (chmod -w FILE): then, as chmod(1), a result the umask changed is reported. */
  private diagnose = false

  public override async init(): Promise<void> {
    // chmod(1) takes "chmod -w FILE": such a MODE is not a flag; move it behind '--'
    const end = this.argv.indexOf('--')
    const i = this.argv.findIndex((a, k) => (end === -1 || k < end) && /^-[rwxXstugoa,+=0-7-]+$/.test(a))
    if (i !== -1) {
      const mode = this.argv[i]!
      const rest = this.argv.filter((_, k) => k !== i && k !== end)
      this.argv.splice(
        0,
        this.argv.length,
        ...rest.filter((a) => a.startsWith('-')),
        '--',
        mode,
        ...rest.filter((a) => !a.startsWith('-')),
      )
      this.diagnose = true
    }
    await super.init()
  }

  public async run(): Promise<EditResult> {
    const {argv} = await this.parse(Chmod)
    const [modeText, ...texts] = argv as string[]
    const changes = parseMode(modeText!)
    if (!changes) throw new UsageError(`invalid mode: '${modeText}'`)
    if (texts.length === 0) throw new UsageError(`missing operand after '${modeText}'`)
    for (const text of texts) {
      const {op, img} = this.operand(text)
      this.attempt(
        text,
        (code) => opError('cannot access', text, code),
        () => {
          let ino: number
          try {
            ino = img.resolve(op.path, {follow: false})
          } catch (e) {
            if (isRazorError(e)) throw opError('cannot access', text, e.code)
            throw e
          }
          if (img.stat(ino).type === 'symlink') {
            try {
              ino = img.resolve(op.path, {follow: true})
            } catch (e) {
              if (isRazorError(e, 'ENOENT'))
                throw new OperandError(`cannot operate on dangling symlink '${text}'`, 'ENOENT')
              throw e
            }
          }
          chmodTree(img, ino, changes, {
            recursive: this.flags.recursive,
            umask: umask(),
            path: text,
            onEntry: this.report,
          })
        },
      )
    }
    return this.finishEdit()
  }

  /** -v/-c lines, and (MODE written as an option) a failure where the umask kept the mode from what it asked for. */
  private readonly report = (e: ChmodEntry): void => {
    const {mode, oldMode: old, path: shown} = e
    const {verbose, changes: onlyChanges} = this.flags
    if (verbose || (onlyChanges && mode !== old)) {
      this.say(
        mode === old
          ? `mode of '${shown}' retained as ${modeDescription(mode)}`
          : `mode of '${shown}' changed from ${modeDescription(old)} to ${modeDescription(mode)}`,
      )
    }
    // like chmod(1) given a mode such as -w: say so when the umask kept the result from what the mode asked for
    if (this.diagnose && (mode & ~e.unmasked) !== 0)
      this.fail(
        shown,
        new OperandError(`${shown}: new permissions are ${permString(mode)}, not ${permString(e.unmasked)}`, 'EPERM'),
      )
  }
}
