import {Args, Flags} from '@oclif/core'
import {isRazorError, S_IFLNK, type Image} from '../core/index.js'
import {newEntry, EditCommand, opError, OperandError, type EditResult, type Target} from './_shared/edit.js'
import {CommandError, UsageError} from './_shared/errors.js'
import {EXIT} from './_shared/exit-codes.js'
import {ImageSet} from './_shared/open.js'
import {OPERAND_RULE, parseOperand} from './_shared/operand.js'

export default class Ln extends EditCommand<typeof Ln> {
  static override summary = 'Make hard or symbolic links inside an image.'

  static override description = [
    'Like ln(1). With -s, TARGET is the text of the symbolic link, stored as given (it is not looked up): razorfs ln -s ../etc/hostname disk.img:/docs/host. Without -s, TARGET is IMAGE:PATH of an existing file in the same image as LINK, and LINK becomes another name for it (directories cannot be hard-linked).',
    'If LINK is an existing directory, the link is made inside it, named after TARGET; with several TARGETs, LINK must be a directory. An existing LINK is an error unless -f replaces it (atomically: the new link is made under a temporary name and renamed over the old one).',
    OPERAND_RULE,
  ].join('\n\n')

  static override examples = [
    {
      description: 'A symbolic link.',
      command: '<%= config.bin %> <%= command.id %> -s /usr/share/zoneinfo/UTC disk.img:/etc/localtime',
    },
    {
      description: 'A hard link.',
      command: '<%= config.bin %> <%= command.id %> disk.img:/bin/busybox disk.img:/bin/sh',
    },
  ]

  static override strict = false

  static override args = {
    'TARGET... LINK': Args.string({
      description: 'What to link to, and the IMAGE:PATH of the link (or of a directory for it).',
      required: true,
    }),
  }

  static override flags = {
    symbolic: Flags.boolean({char: 's', summary: 'Make symbolic links.'}),
    force: Flags.boolean({char: 'f', summary: 'Replace existing destination files.'}),
    'no-target-directory': Flags.boolean({char: 'T', summary: 'Treat LINK as a name, even if it is a directory.'}),
    verbose: Flags.boolean({char: 'v', summary: 'Print a line for each link made.'}),
  }

  public async run(): Promise<EditResult> {
    const {argv} = await this.parse(Ln)
    const {flags} = this
    const texts = argv as string[]
    if (texts.length < 2)
      throw new UsageError(
        texts.length ? `missing LINK operand after '${texts[0]}': give IMAGE:PATH of the link` : 'missing file operand',
      )
    const linkText = texts.pop()!
    const lop = parseOperand(linkText)
    const {img} = this.operand(linkText)
    let dest: Target | undefined
    let destErr: string | undefined
    try {
      dest = this.locate(img, linkText, lop.raw)
    } catch (e) {
      if (!isRazorError(e) || (e.code !== 'ENOENT' && e.code !== 'ENOTDIR')) throw e
      destErr = e.code
    }
    const intoDir = !flags['no-target-directory'] && dest?.ino !== undefined && followType(img, lop.path) === 'dir'
    if (texts.length > 1 && !intoDir)
      throw new CommandError(
        `target '${linkText}': ${destErr || (dest && dest.ino === undefined) ? 'No such file or directory' : 'Not a directory'}`,
        EXIT.FAILED,
        'ENOTDIR',
      )
    const kind = flags.symbolic ? 'symbolic link' : 'hard link'
    for (const targetText of texts) {
      this.attempt(
        targetText,
        (code) => opError(`failed to create ${kind}`, linkText, code),
        () => {
          let target: {ino: number; type: string} | undefined
          let targetName: string
          if (flags.symbolic) {
            targetName =
              targetText
                .split('/')
                .filter((p) => p !== '')
                .pop() ?? targetText
          } else {
            const top = parseOperand(targetText)
            if (!ImageSet.same(top.image, lop.image))
              throw new OperandError(
                `failed to create hard link '${linkText}' => '${targetText}': Invalid cross-device link`,
                'EXDEV',
              )
            let ino: number
            try {
              ino = img.resolve(top.path, {follow: false})
            } catch (e) {
              if (isRazorError(e)) throw opError('failed to access', targetText, e.code)
              throw e
            }
            const type = img.stat(ino).type
            if (type === 'dir') throw new OperandError(`${targetText}: hard link not allowed for directory`, 'EPERM')
            target = {ino, type}
            targetName =
              top.path
                .split('/')
                .filter((p) => p !== '')
                .pop() ?? ''
          }
          if (destErr || !dest) throw opError(`failed to create ${kind}`, linkText, destErr ?? 'ENOENT')
          let dir: number
          let name: Buffer
          let shown: string
          if (intoDir) {
            dir = img.resolve(lop.path, {follow: true})
            name = Buffer.from(targetName)
            shown = `${linkText.replace(/\/+$/, '')}/${targetName}`
          } else {
            if (!dest.name || dest.dot) throw opError(`failed to create ${kind}`, linkText, 'EEXIST')
            dir = dest.dir
            name = dest.name
            shown = linkText
          }
          const existing = img.lookup(dir, name)
          let tmp: Buffer | undefined
          if (existing !== undefined) {
            if (!flags.force) throw opError(`failed to create ${kind}`, shown, 'EEXIST')
            if (target && existing === target.ino)
              throw new OperandError(`'${targetText}' and '${shown}' are the same file`, 'EINVAL')
            if (img.stat(existing).type === 'dir')
              throw new OperandError(`${shown}: cannot overwrite directory`, 'EISDIR')
            tmp = Buffer.from(`.razorfs-ln-${process.pid}-${Math.random().toString(36).slice(2)}`)
          }
          const made = tmp ?? name
          if (flags.symbolic) img.symlink(dir, made, targetText, newEntry(img, dir, S_IFLNK | 0o777))
          else img.link(target!.ino, dir, made)
          if (tmp) img.rename(dir, tmp, dir, name)
          if (flags.verbose) this.say(`'${shown}' ${flags.symbolic ? '->' : '=>'} '${targetText}'`)
        },
      )
    }
    return this.finishEdit()
  }
}

function followType(img: Image, path: string): string | undefined {
  try {
    return img.stat(img.resolve(path, {follow: true})).type
  } catch {
    return undefined
  }
}
