import {Args, Flags} from '@oclif/core'
import {errnoText, isRazorError} from '../../core/index.js'
import {BaseCommand} from '../_base.js'
import {EXIT} from '../_shared/exit-codes.js'
import {OPERAND_RULE, parseOperand} from '../_shared/operand.js'
import {displayValue, renderValue, type RenderedValue} from '../_shared/values.js'

export interface XattrListEntry {
  path: string
  names: string[]
  values?: Record<string, RenderedValue>
}

export default class XattrList extends BaseCommand<typeof XattrList> {
  static override summary = 'List the extended attributes of files inside an image.'

  static override description = [
    'Prints the names of the extended attributes of each file, one per line (with several files, each line starts with the file and a colon). --values adds each value: text in double quotes when it is printable UTF-8, 0x... hex for short binary values, base64:... otherwise. A symbolic link is followed unless -h is given.',
    OPERAND_RULE,
  ].join('\n\n')

  static override examples = [
    {description: 'Names and values.', command: '<%= config.bin %> <%= command.id %> --values disk.img:/usr/bin/ping'},
  ]

  static override strict = false

  static override args = {
    'IMAGE:PATH...': Args.string({description: 'Files to list.', required: true}),
  }

  static override flags = {
    values: Flags.boolean({char: 'd', summary: 'Show the values too.'}),
    'no-dereference': Flags.boolean({char: 'h', summary: 'List the attributes of a symbolic link itself.'}),
  }

  public async run(): Promise<XattrListEntry[]> {
    const {argv} = await this.parse(XattrList)
    const texts = argv as string[]
    const out: XattrListEntry[] = []
    let failed = false
    for (const text of texts) {
      const op = parseOperand(text)
      this.context = {image: op.image, path: op.path}
      await this.withImage(op.image, (img) => {
        let ino: number
        try {
          ino = img.resolve(op.path, {follow: !this.flags['no-dereference']})
        } catch (e) {
          if (!isRazorError(e) || !['ENOENT', 'ENOTDIR', 'ELOOP'].includes(e.code)) throw e
          failed = true
          if (!this.jsonEnabled()) process.stderr.write(`razorfs: ${text}: ${errnoText(e.code)}\n`)
          return
        }
        const names = img.listXattrs(ino)
        const entry: XattrListEntry = {path: text, names}
        if (this.flags.values)
          entry.values = Object.fromEntries(names.map((n) => [n, renderValue(img.getXattr(ino, n), true)]))
        out.push(entry)
        if (this.jsonEnabled()) return
        const prefix = texts.length > 1 ? `${text}: ` : ''
        for (const n of names)
          process.stdout.write(`${prefix}${n}${this.flags.values ? `=${displayValue(img.getXattr(ino, n))}` : ''}\n`)
      })
    }
    if (failed) process.exitCode = EXIT.FAILED
    return out
  }
}
