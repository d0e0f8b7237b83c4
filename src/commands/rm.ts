import {Args, Flags} from '@oclif/core'
import {isRazorError, removeTree, type Image, type RemovedEntry} from '../core/index.js'
import {EditCommand, opError, OperandError, type EditResult} from './_shared/edit.js'
import {OPERAND_RULE} from './_shared/operand.js'

export default class Rm extends EditCommand<typeof Rm> {
  static override summary = 'Remove files or directories inside an image.'

  static override description = [
    "Like rm(1): removes each file; a directory only with -d (if empty) or -r (with everything in it). With -f, missing files are not an error. '.' and '..' are refused, and -r on the image's root directory needs --no-preserve-root (then everything in it is removed; the root itself stays).",
    'Each removal is one journaled operation (a tree is removed entry by entry, deepest first); what was removed before a crash stays removed, and the image is consistent either way. The image is committed before razorfs exits.',
    OPERAND_RULE,
  ].join('\n\n')

  static override examples = [
    {description: 'Remove a file.', command: '<%= config.bin %> <%= command.id %> disk.img:/tmp/old.log'},
    {
      description: 'Remove a directory tree, quietly if it is not there.',
      command: '<%= config.bin %> <%= command.id %> -rf disk.img:/var/cache/apt',
    },
  ]

  static override strict = false

  static override args = {
    'IMAGE:PATH...': Args.string({description: 'Files or directories to remove.', required: true}),
  }

  static override flags = {
    recursive: Flags.boolean({char: 'r', charAliases: ['R'], summary: 'Remove directories and their contents.'}),
    force: Flags.boolean({char: 'f', summary: 'Ignore missing files.'}),
    dir: Flags.boolean({char: 'd', summary: 'Remove empty directories.'}),
    verbose: Flags.boolean({char: 'v', summary: 'Print a line for each entry removed.'}),
    'no-preserve-root': Flags.boolean({summary: "Allow -r on the image's root directory (removes everything in it)."}),
  }

  public async run(): Promise<EditResult> {
    const {argv} = await this.parse(Rm)
    const {flags} = this
    for (const text of argv as string[]) {
      const {op, img} = this.operand(text)
      this.attempt(
        text,
        (code) => opError('cannot remove', text, code),
        () => {
          let t
          try {
            t = this.locate(img, text, op.raw)
          } catch (e) {
            if (flags.force && isRazorError(e) && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return
            throw e
          }
          if (t.dot) throw new OperandError(`refusing to remove '.' or '..' directory: skipping '${text}'`, 'EINVAL')
          if (t.ino === undefined) {
            if (flags.force) return
            throw opError('cannot remove', text, 'ENOENT')
          }
          const st = img.stat(t.ino)
          if (!t.name) {
            if (!flags.recursive) throw opError('cannot remove', text, 'EISDIR')
            if (!flags['no-preserve-root'])
              throw new OperandError(
                `it is dangerous to operate recursively on '${text}' (the image's root); use --no-preserve-root to override this failsafe`,
                'EINVAL',
              )
            removeTree(img, t.ino, undefined, {path: text, preserveRoot: false, onRemoved: this.removed})
            return
          }
          if (t.slash && st.type !== 'dir') {
            const target = st.type === 'symlink' ? safeType(img, op.path) : st.type
            if (target !== 'dir') throw opError('cannot remove', text, 'ENOTDIR')
          }
          if (st.type !== 'dir') {
            img.unlink(t.dir, t.name)
            if (flags.verbose) this.say(`removed '${text}'`)
            return
          }
          if (flags.recursive) {
            removeTree(img, t.dir, t.name, {path: text, onRemoved: this.removed})
            return
          }
          if (!flags.dir) throw opError('cannot remove', text, 'EISDIR')
          img.rmdir(t.dir, t.name)
          if (flags.verbose) this.say(`removed directory '${text}'`)
        },
      )
    }
    return this.finishEdit()
  }

  /** -v: a line for each entry a tree removal removed. */
  private readonly removed = (e: RemovedEntry): void => {
    if (this.flags.verbose) this.say(e.type === 'dir' ? `removed directory '${e.path}'` : `removed '${e.path}'`)
  }
}

function safeType(img: Image, path: string): string | undefined {
  try {
    return img.stat(img.resolve(path, {follow: true})).type
  } catch {
    return undefined
  }
}
