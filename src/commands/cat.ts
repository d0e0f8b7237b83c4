import {Args, Flags} from '@oclif/core'
import {fail} from '../core/index.js'
import {BaseCommand} from './_base.js'
import {CommandError, UsageError} from './_shared/errors.js'
import {EXIT} from './_shared/exit-codes.js'
import {OPERAND_RULE, parseOperand} from './_shared/operand.js'
import {formatBytes, parseSize, SIZE_SYNTAX} from './_shared/size.js'
import {ClosedPipe, copyOut, holeBytes} from './_shared/stream.js'
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
    "Holes (ranges the image does not store) come out as zeros, like cat(1) on a sparse file. A file whose holes add up to more than --max-holes (default 16 GiB) is refused before anything is written: an image can declare any size without storing anything, and writing petabytes of zeros would never end. Use 'razorfs cp' to copy such a file out: it keeps holes as holes.",
  ].join('\n\n')

  static override examples = [
    {description: 'Show a file.', command: '<%= config.bin %> <%= command.id %> disk.img:/etc/hostname'},
    {
      description: 'Copy a file out of the image.',
      command: '<%= config.bin %> <%= command.id %> disk.img:/backup.tar > backup.tar',
    },
  ]

  static override args = {
    'IMAGE:PATH': Args.string({description: "The image, ':' and the path of a file inside it.", required: true}),
  }

  static override flags = {
    'max-holes': Flags.custom<number>({
      helpValue: 'BYTES|none',
      summary: 'Refuse a file with more than BYTES of holes. [default: 16G]',
      description: `Sizes are ${SIZE_SYNTAX}; none means no limit.`,
      parse: async (s) => (s.trim().toLowerCase() === 'none' ? Number.MAX_SAFE_INTEGER : parseSize(s)),
    })(),
  }

  public async run(): Promise<CatResult | undefined> {
    const operand = parseOperand(this.args['IMAGE:PATH'])
    if (!operand.explicitPath)
      throw new UsageError(
        `'${operand.image}' has no ':PATH'; name a file inside the image, e.g. ${operand.image}:/etc/hostname`,
      )
    const {image, path} = operand
    this.context = {image, path}
    return this.withImage(image, async (img) => {
      const ino = img.resolve(path, {follow: true})
      const st = img.stat(ino)
      if (st.type === 'dir') throw fail('EISDIR', 'is a directory', {path})
      const maxHoles = this.flags['max-holes'] ?? 16 * 1024 ** 3
      const holes = st.size > maxHoles ? holeBytes(img, ino, st.size) : 0
      if (holes > maxHoles) {
        throw new CommandError(
          `${image}:${path}: ${formatBytes(holes)} of its ${formatBytes(st.size)} are holes the image does not store; writing them out as zeros would take very long. Copy it with 'razorfs cp ${image}:${path} FILE' (holes stay holes) or raise --max-holes`,
          EXIT.FAILED,
          'EFBIG',
        )
      }
      if (this.jsonEnabled()) {
        if (st.size > 64 * 1024 * 1024)
          throw new CommandError(
            `${image}:${path}: ${formatBytes(st.size)} is too large for --json (64 MiB at most); write it to a file instead`,
            EXIT.FAILED,
            'EFBIG',
          )
        return {path, ino, size: st.size, ...renderValue(img.readFile(ino), true)}
      }
      try {
        await copyOut(img, ino, st.size, process.stdout)
      } catch (error) {
        if (!(error instanceof ClosedPipe)) throw error
      }
      return undefined
    })
  }
}
