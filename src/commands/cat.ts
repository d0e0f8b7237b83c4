import {Args} from '@oclif/core'
import {fail} from '../core/index.js'
import {BaseCommand} from './_base.js'
import {UsageError} from './_shared/errors.js'
import {OPERAND_RULE, parseOperand} from './_shared/operand.js'
import {ClosedPipe, copyOut} from './_shared/stream.js'
import {renderValue, type RenderedValue} from './_shared/values.js'

/** `cat --json`: the whole file, as text when it is printable UTF-8, else base64. */
export interface CatResult extends RenderedValue {
  path: string
  ino: number
  size: number
}

export default class Cat extends BaseCommand<typeof Cat> {
  static override summary = 'Write a file from inside an image to standard output.'

  static override description = [
    'Copies the bytes of the file at PATH to standard output, following symlinks. If the reader goes away (as with | head) cat stops quietly.',
    OPERAND_RULE,
    "--json instead prints {path, ino, size, encoding, value}, with value the file's text when it is printable UTF-8 and its base64 otherwise; it holds the whole file in memory, so use it for small files.",
  ].join('\n\n')

  static override examples = [
    {description: 'Show a file.', command: '<%= config.bin %> <%= command.id %> disk.img:/etc/hostname'},
    {description: 'Copy a file out of the image.', command: '<%= config.bin %> <%= command.id %> disk.img:/backup.tar > backup.tar'},
  ]

  static override args = {
    'IMAGE:PATH': Args.string({description: "The image, ':' and the path of a file inside it.", required: true}),
  }

  public async run(): Promise<CatResult | undefined> {
    const operand = parseOperand(this.args['IMAGE:PATH'])
    if (!operand.explicitPath) throw new UsageError(`'${operand.image}' has no ':PATH'; name a file inside the image, e.g. ${operand.image}:/etc/hostname`)
    const {image, path} = operand
    this.context = {image, path}
    return this.withImage(image, async (img) => {
      const ino = img.resolve(path, {follow: true})
      const st = img.stat(ino)
      if (st.type === 'dir') throw fail('EISDIR', 'is a directory', {path})
      if (this.jsonEnabled()) return {path, ino, size: st.size, ...renderValue(img.readFile(ino), true)}
      try {
        await copyOut(img, ino, st.size, process.stdout)
      } catch (error) {
        if (!(error instanceof ClosedPipe)) throw error
      }
      return undefined
    })
  }
}
