import fs from 'node:fs'
import {Args, Flags} from '@oclif/core'
import {errnoText, isRazorError} from '../../core/index.js'
import {EditCommand, OperandError, type EditResult} from '../_shared/edit.js'
import {UsageError} from '../_shared/errors.js'
import {OPERAND_RULE} from '../_shared/operand.js'

export default class XattrSet extends EditCommand<typeof XattrSet> {
  static override summary = 'Set an extended attribute of files inside an image.'

  static override description = [
    "Sets the attribute NAME (with its namespace: user., trusted., security. or system.) to VALUE on each file, replacing any value it had. VALUE is text, or hex or base64 with --encoding; --file reads the value from a host file ('-': standard input) instead. Values may be up to 64 KiB. A symbolic link is followed unless -h is given.",
    'Each file is one journaled operation; the image is committed before razorfs exits.',
    OPERAND_RULE,
  ].join('\n\n')

  static override examples = [
    {
      description: 'A text attribute.',
      command: '<%= config.bin %> <%= command.id %> disk.img:/srv user.origin "built by CI"',
    },
    {
      description: 'An SELinux label.',
      command:
        '<%= config.bin %> <%= command.id %> disk.img:/etc/shadow security.selinux system_u:object_r:shadow_t:s0',
    },
    {
      description: 'A binary value.',
      command:
        '<%= config.bin %> <%= command.id %> --encoding hex disk.img:/bin/ping security.capability 0100000200200000000000000000000000000000',
    },
  ]

  static override args = {
    'IMAGE:PATH': Args.string({description: 'The file.', required: true}),
    NAME: Args.string({description: 'Attribute name.', required: true}),
    VALUE: Args.string({description: 'The value (omit with --file).'}),
  }

  static override flags = {
    encoding: Flags.option({
      options: ['text', 'hex', 'base64'] as const,
      default: 'text' as const,
      summary: 'How VALUE is written.',
    })(),
    file: Flags.string({helpValue: 'FILE', summary: "Read the value from a host file ('-' for standard input)."}),
    'no-dereference': Flags.boolean({char: 'h', summary: 'Set the attribute on a symbolic link itself.'}),
  }

  public async run(): Promise<EditResult> {
    const {flags, args} = this
    if (flags.file === undefined && args.VALUE === undefined) throw new UsageError('missing VALUE (or --file FILE)')
    if (flags.file !== undefined && args.VALUE !== undefined)
      throw new UsageError('give either VALUE or --file, not both')
    let value: Buffer
    if (flags.file !== undefined) value = flags.file === '-' ? fs.readFileSync(0) : fs.readFileSync(flags.file)
    else if (flags.encoding === 'hex') {
      if (!/^(?:[0-9a-fA-F]{2})*$/.test(args.VALUE!)) throw new UsageError(`'${args.VALUE}' is not hex`)
      value = Buffer.from(args.VALUE!, 'hex')
    } else if (flags.encoding === 'base64') value = Buffer.from(args.VALUE!, 'base64')
    else value = Buffer.from(args.VALUE!, 'utf8')
    const text = args['IMAGE:PATH']
    const {op, img} = this.operand(text)
    this.attempt(
      text,
      (code) => new OperandError(`${text}: ${errnoText(code)}`, code),
      () => {
        let ino: number
        try {
          ino = img.resolve(op.path, {follow: !flags['no-dereference']})
        } catch (e) {
          if (isRazorError(e)) throw new OperandError(`${text}: ${errnoText(e.code)}`, e.code)
          throw e
        }
        try {
          img.setXattr(ino, args.NAME, value)
        } catch (e) {
          if (isRazorError(e) && (e.code === 'EINVAL' || e.code === 'ERANGE')) throw new UsageError(e.message)
          throw e
        }
      },
    )
    return this.finishEdit()
  }
}
