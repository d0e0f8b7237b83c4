import {Args, Flags} from '@oclif/core'
import {isRazorError} from '../../core/index.js'
import {BaseCommand} from '../_base.js'
import {CommandError} from '../_shared/errors.js'
import {EXIT} from '../_shared/exit-codes.js'
import {OPERAND_RULE, parseOperand} from '../_shared/operand.js'
import {renderValue, type RenderedValue} from '../_shared/values.js'

export interface XattrGetResult extends RenderedValue {
  path: string
  name: string
  size: number
}

export default class XattrGet extends BaseCommand<typeof XattrGet> {
  static override summary = 'Print one extended attribute of a file inside an image.'

  static override description = [
    'Writes the value of the attribute NAME (e.g. user.comment, security.selinux) to standard output: its bytes as they are, or with --encoding hex or base64 as text and a newline. --json prints {path, name, size, encoding, value}. A symbolic link is followed unless -h is given.',
    OPERAND_RULE,
  ].join('\n\n')

  static override examples = [
    {description: 'Show an attribute.', command: '<%= config.bin %> <%= command.id %> disk.img:/srv user.origin'},
  ]

  static override args = {
    'IMAGE:PATH': Args.string({description: 'The file.', required: true}),
    NAME: Args.string({
      description: 'Attribute name, with its namespace (user., trusted., security., system.).',
      required: true,
    }),
  }

  static override flags = {
    encoding: Flags.option({
      options: ['raw', 'hex', 'base64'] as const,
      default: 'raw' as const,
      summary: 'How to print the value.',
    })(),
    'no-dereference': Flags.boolean({char: 'h', summary: 'Read the attribute of a symbolic link itself.'}),
  }

  public async run(): Promise<XattrGetResult | undefined> {
    const text = this.args['IMAGE:PATH']
    const name = this.args.NAME
    const op = parseOperand(text)
    this.context = {image: op.image, path: op.path}
    return this.withImage(op.image, (img) => {
      const ino = img.resolve(op.path, {follow: !this.flags['no-dereference']})
      let value: Buffer
      try {
        value = img.getXattr(ino, name)
      } catch (e) {
        if (isRazorError(e, 'ENODATA'))
          throw new CommandError(`${text}: ${name}: No such attribute`, EXIT.FAILED, 'ENODATA')
        throw e
      }
      if (this.jsonEnabled()) return {path: text, name, size: value.length, ...renderValue(value, true)}
      const enc = this.flags.encoding
      process.stdout.write(enc === 'raw' ? value : `${value.toString(enc)}\n`)
      return undefined
    })
  }
}
