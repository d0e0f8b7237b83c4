import {Args, Flags} from '@oclif/core'
import {errnoText, isRazorError} from '../../core/index.js'
import {EditCommand, OperandError, type EditResult} from '../_shared/edit.js'
import {UsageError} from '../_shared/errors.js'
import {OPERAND_RULE} from '../_shared/operand.js'

export default class XattrRm extends EditCommand<typeof XattrRm> {
  static override summary = 'Remove extended attributes of a file inside an image.'

  static override description = [
    'Removes each attribute NAME from the file; a missing attribute is an error (No such attribute) unless -f is given. A symbolic link is followed unless -h is given.',
    'Each removal is one journaled operation; the image is committed before razorfs exits.',
    OPERAND_RULE,
  ].join('\n\n')

  static override examples = [
    {
      description: 'Remove a label.',
      command: '<%= config.bin %> <%= command.id %> disk.img:/etc/shadow security.selinux',
    },
  ]

  static override strict = false

  static override args = {
    'IMAGE:PATH': Args.string({description: 'The file.', required: true}),
    'NAME...': Args.string({description: 'Attribute names.', required: true}),
  }

  static override flags = {
    force: Flags.boolean({char: 'f', summary: 'No error for missing attributes.'}),
    'no-dereference': Flags.boolean({char: 'h', summary: 'Work on a symbolic link itself.'}),
  }

  public async run(): Promise<EditResult> {
    const {argv} = await this.parse(XattrRm)
    const [text, ...names] = argv as string[]
    if (!names.length) throw new UsageError('missing NAME')
    const {op, img} = this.operand(text!)
    let ino: number | undefined
    try {
      ino = img.resolve(op.path, {follow: !this.flags['no-dereference']})
    } catch (e) {
      if (!isRazorError(e) || !['ENOENT', 'ENOTDIR', 'ELOOP'].includes(e.code)) throw e
      this.fail(text!, new OperandError(`${text}: ${errnoText(e.code)}`, e.code))
    }
    if (ino !== undefined) {
      for (const name of names) {
        this.attempt(
          `${text}: ${name}`,
          (code) =>
            new OperandError(`${text}: ${name}: ${code === 'ENODATA' ? 'No such attribute' : errnoText(code)}`, code),
          () => {
            try {
              img.removeXattr(ino!, name)
            } catch (e) {
              if (this.flags.force && isRazorError(e, 'ENODATA')) return
              if (isRazorError(e) && e.code === 'EINVAL') throw new UsageError(e.message)
              throw e
            }
          },
        )
      }
    }
    return this.finishEdit()
  }
}
