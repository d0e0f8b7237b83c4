import {Args, Flags} from '@oclif/core'
import {errnoText, isRazorError, S_IFREG} from '../core/index.js'
import {newEntry, EditCommand, OperandError, umask, type EditResult} from './_shared/edit.js'
import {UsageError} from './_shared/errors.js'
import {OPERAND_RULE} from './_shared/operand.js'

const POW: Record<string, number> = {K: 1, M: 2, G: 3, T: 4, P: 5, E: 6}

/** truncate(1)'s SIZE: [+-<>/%]NUMBER[K|KiB|KB|M|...]; K, KiB = 1024, KB = 1000. */
export function parseTruncateSize(
  text: string,
): {op: '' | '+' | '-' | '<' | '>' | '/' | '%'; value: number} | undefined {
  const m = /^\s*([+\-<>/%]?)\s*(\d+)([KMGTPE](?:iB|B)?)?$/.exec(text)
  if (!m) return undefined
  const [, op, num, unit] = m
  let value = Number(num)
  if (unit) value *= (unit.endsWith('B') && !unit.endsWith('iB') ? 1000 : 1024) ** POW[unit[0]!]!
  if (!Number.isSafeInteger(value)) return undefined
  return {op: op as never, value}
}

export default class Truncate extends EditCommand<typeof Truncate> {
  static override summary = 'Shrink or extend files inside an image.'

  static override description = [
    "Like truncate(1): sets each file's size to SIZE, creating missing files (mode 0666 minus the umask) unless -c. Extending adds a hole: it takes no space. SIZE is a number of bytes with an optional unit (K, M, G, T, P, E: powers of 1024, also written KiB...; KB, MB...: powers of 1000) and an optional prefix: + extend by, - shrink by, < at most, > at least, / round down to a multiple of, % round up to a multiple of.",
    'Each file is one journaled operation; the image is committed before razorfs exits.',
    OPERAND_RULE,
  ].join('\n\n')

  static override examples = [
    {description: 'A 1 GiB sparse file.', command: '<%= config.bin %> <%= command.id %> -s 1G disk.img:/var/swap'},
    {description: 'Empty a log file.', command: '<%= config.bin %> <%= command.id %> -s 0 disk.img:/var/log/syslog'},
  ]

  static override strict = false

  static override args = {
    'IMAGE:PATH...': Args.string({description: 'Files to resize.', required: true}),
  }

  static override flags = {
    size: Flags.string({char: 's', helpValue: 'SIZE', summary: 'Set or adjust the size.'}),
    'no-create': Flags.boolean({char: 'c', summary: 'Do not create missing files.'}),
  }

  public async run(): Promise<EditResult> {
    const {argv} = await this.parse(Truncate)
    const {flags} = this
    if (flags.size === undefined) throw new UsageError("you must specify '--size'")
    const size = parseTruncateSize(flags.size)
    if (!size) throw new UsageError(`Invalid number: '${flags.size}'`)
    if ((size.op === '/' || size.op === '%') && size.value === 0) throw new UsageError('division by zero')
    for (const text of argv as string[]) {
      const {op, img} = this.operand(text)
      this.attempt(
        text,
        (code) => new OperandError(`cannot open '${text}' for writing: ${errnoText(code)}`, code),
        () => {
          let ino: number | undefined
          try {
            ino = img.resolve(op.path, {follow: true})
          } catch (e) {
            if (!isRazorError(e, 'ENOENT')) throw e
          }
          if (ino === undefined) {
            if (flags['no-create']) return
            const t = this.locate(img, text, op.raw)
            if (t.ino !== undefined || !t.name || t.dot || t.slash)
              throw new OperandError(
                `cannot open '${text}' for writing: ${t.slash ? 'Is a directory' : 'No such file or directory'}`,
                t.slash ? 'EISDIR' : 'ENOENT',
              )
            ino = img.create(t.dir, t.name, newEntry(img, t.dir, S_IFREG | (0o666 & ~umask())))
          }
          const st = img.stat(ino)
          if (st.type === 'dir') throw new OperandError(`cannot open '${text}' for writing: Is a directory`, 'EISDIR')
          if (st.type !== 'file') throw new OperandError(`cannot truncate '${text}': Invalid argument`, 'EINVAL')
          if (op.raw.endsWith('/'))
            throw new OperandError(`cannot open '${text}' for writing: Not a directory`, 'ENOTDIR')
          const cur = st.size
          const v = size.value
          let want: number
          switch (size.op) {
            case '+':
              want = cur + v
              break
            case '-':
              want = Math.max(0, cur - v)
              break
            case '<':
              want = Math.min(cur, v)
              break
            case '>':
              want = Math.max(cur, v)
              break
            case '/':
              want = Math.floor(cur / v) * v
              break
            case '%':
              want = Math.ceil(cur / v) * v
              break
            default:
              want = v
          }
          if (want !== cur) img.truncate(ino, want)
        },
      )
    }
    return this.finishEdit()
  }
}
