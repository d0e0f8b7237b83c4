import {Args, Flags} from '@oclif/core'
import {isRazorError, type Image} from '../core/index.js'
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
            for (const e of img.readdir(t.ino))
              this.removeTree(img, t.ino, e.name, `${text.replace(/\/$/, '')}/${e.name}`)
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
            this.removeTree(img, t.dir, t.name, text)
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

  /** Remove `name` in `dir` and everything below it, deepest first (an explicit stack: any depth). */
  private removeTree(img: Image, dir: number, name: Buffer, shown: string): void {
    const stack: Array<{dir: number; name: Buffer; shown: string; ino: number; expanded: boolean}> = []
    const push = (d: number, n: Buffer, s: string) => {
      const ino = img.lookup(d, n)
      if (ino === undefined) return
      stack.push({dir: d, name: n, shown: s, ino, expanded: false})
    }
    push(dir, name, shown)
    while (stack.length) {
      const top = stack[stack.length - 1]!
      const st = img.stat(top.ino)
      if (st.type === 'dir' && !top.expanded) {
        top.expanded = true
        for (const e of img.readdir(top.ino)) push(top.ino, e.name, `${top.shown}/${e.name.toString()}`)
        continue
      }
      stack.pop()
      if (st.type === 'dir') img.rmdir(top.dir, top.name)
      else img.unlink(top.dir, top.name)
      if (this.flags.verbose)
        this.say(st.type === 'dir' ? `removed directory '${top.shown}'` : `removed '${top.shown}'`)
    }
  }
}

function safeType(img: Image, path: string): string | undefined {
  try {
    return img.stat(img.resolve(path, {follow: true})).type
  } catch {
    return undefined
  }
}
