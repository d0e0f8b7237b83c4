import {Args, Flags} from '@oclif/core'
import {isRazorError} from '../core/index.js'
import {EditCommand, inside, opError, OperandError, type EditResult, type Target} from './_shared/edit.js'
import {CommandError, UsageError} from './_shared/errors.js'
import {EXIT} from './_shared/exit-codes.js'
import {ImageSet} from './_shared/open.js'
import {OPERAND_RULE, parseOperand} from './_shared/operand.js'

export default class Mv extends EditCommand<typeof Mv> {
  static override summary = 'Move or rename files inside an image.'

  static override description = [
    'Like mv(1) within one image: renames SOURCE to DEST, or moves several SOURCEs into the directory DEST. An existing DEST file is replaced (and an empty directory by a directory), atomically: the rename is one journaled operation. -n keeps existing files. Moving a directory into itself is refused.',
    'All operands must be in the same image; to move between images or to the host, use razorfs cp, then razorfs rm.',
    OPERAND_RULE,
  ].join('\n\n')

  static override examples = [
    {
      description: 'Rename a file.',
      command: '<%= config.bin %> <%= command.id %> disk.img:/etc/motd disk.img:/etc/motd.old',
    },
    {
      description: 'Move two files into a directory.',
      command: '<%= config.bin %> <%= command.id %> disk.img:/a.txt disk.img:/b.txt disk.img:/archive/',
    },
  ]

  static override strict = false

  static override args = {
    'SOURCE... DEST': Args.string({description: 'IMAGE:PATH operands, all in one image.', required: true}),
  }

  static override flags = {
    'no-clobber': Flags.boolean({char: 'n', summary: 'Do not replace an existing file.'}),
    force: Flags.boolean({char: 'f', summary: 'Replace existing files (the default; for compatibility).'}),
    'no-target-directory': Flags.boolean({char: 'T', summary: 'Treat DEST as a name, even if it is a directory.'}),
    verbose: Flags.boolean({char: 'v', summary: 'Print a line for each move.'}),
  }

  public async run(): Promise<EditResult> {
    const {argv} = await this.parse(Mv)
    const {flags} = this
    const texts = argv as string[]
    if (texts.length < 2)
      throw new UsageError(
        texts.length ? `missing destination file operand after '${texts[0]}'` : 'missing file operand',
      )
    const destText = texts.pop()!
    const dop = parseOperand(destText)
    for (const s of texts) {
      const sop = parseOperand(s)
      if (!ImageSet.same(sop.image, dop.image))
        throw new UsageError(
          `'${s}' and '${destText}' are not in the same image: move between images with razorfs cp, then razorfs rm`,
        )
    }
    const {img} = this.operand(destText)
    let dest: Target | undefined
    let destErr: string | undefined
    try {
      dest = this.locate(img, destText, dop.raw)
    } catch (e) {
      if (!isRazorError(e) || (e.code !== 'ENOENT' && e.code !== 'ENOTDIR')) throw e
      destErr = e.code
    }
    const destIsDir = !flags['no-target-directory'] && dest?.ino !== undefined && followType(img, dop.path) === 'dir'
    if (texts.length > 1 && !destIsDir)
      throw new CommandError(
        `target '${destText}': ${destErr || (dest && dest.ino === undefined) ? 'No such file or directory' : 'Not a directory'}`,
        EXIT.FAILED,
        'ENOTDIR',
      )
    for (const s of texts) {
      const sop = parseOperand(s)
      this.attempt(
        s,
        (code) => opError('cannot stat', s, code),
        () => {
          const src = this.locate(img, s, sop.raw)
          if (src.dot || !src.name) throw new OperandError(`cannot move '${s}': Device or resource busy`, 'EBUSY')
          if (src.ino === undefined) throw opError('cannot stat', s, 'ENOENT')
          const srcType = img.stat(src.ino).type
          if (src.slash && srcType !== 'dir' && followType(img, sop.path) !== 'dir')
            throw opError('cannot stat', s, 'ENOTDIR')
          if (destErr || !dest) throw opError(`cannot move '${s}' to`, destText, destErr ?? 'ENOENT')
          let dir: number
          let name: Buffer
          let shown: string
          if (destIsDir) {
            dir = img.resolve(dop.path, {follow: true})
            name = src.name
            shown = `${destText.replace(/\/+$/, '')}/${src.name.toString()}`
          } else {
            if (!dest.name)
              throw new OperandError(`cannot overwrite directory '${destText}' with non-directory`, 'EISDIR')
            dir = dest.dir
            name = dest.name
            shown = destText
          }
          const existing = img.lookup(dir, name)
          if (existing === src.ino && dir === src.dir && name.equals(src.name))
            throw new OperandError(`'${s}' and '${shown}' are the same file`, 'EINVAL')
          if (srcType === 'dir' && inside(img, dir, src.ino))
            throw new OperandError(`cannot move '${s}' to a subdirectory of itself, '${shown}'`, 'EINVAL')
          if (existing !== undefined) {
            if (flags['no-clobber']) return
            const et = img.stat(existing).type
            if (srcType === 'dir' && et !== 'dir')
              throw new OperandError(`cannot overwrite non-directory '${shown}' with directory '${s}'`, 'ENOTDIR')
            if (srcType !== 'dir' && et === 'dir')
              throw new OperandError(`cannot overwrite directory '${shown}' with non-directory`, 'EISDIR')
            if (et === 'dir' && img.readdir(existing).length > 0)
              throw new OperandError(`cannot move '${s}' to '${shown}': Directory not empty`, 'ENOTEMPTY')
          }
          try {
            img.rename(src.dir, src.name, dir, name)
          } catch (e) {
            if (isRazorError(e)) throw opError(`cannot move '${s}' to`, shown, e.code)
            throw e
          }
          if (flags.verbose) this.say(`renamed '${s}' -> '${shown}'`)
        },
      )
    }
    return this.finishEdit()
  }
}

function followType(img: import('../core/index.js').Image, path: string): string | undefined {
  try {
    return img.stat(img.resolve(path, {follow: true})).type
  } catch {
    return undefined
  }
}
