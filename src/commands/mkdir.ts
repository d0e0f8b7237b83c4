import {Args, Flags} from '@oclif/core'
import {isRazorError, S_IFDIR, type Image} from '../core/index.js'
import {EditCommand, newEntry, opError, umask, type EditResult} from './_shared/edit.js'
import {UsageError} from './_shared/errors.js'
import {applyMode, parseMode} from './_shared/chmod-mode.js'
import {OPERAND_RULE} from './_shared/operand.js'

export default class Mkdir extends EditCommand<typeof Mkdir> {
  static override summary = 'Create directories inside an image.'

  static override description = [
    'Like mkdir(1): creates each directory, failing (and going on with the next operand) when it exists or its parent does not. With -p, missing parents are created and an existing directory is not an error.',
    'New directories get mode 0777 minus the umask (or --mode), the uid and gid of the user running razorfs, and the current time; in a set-group-ID directory, its group and the set-group-ID bit, as on a mount. Each directory is one journaled operation; the image is committed before razorfs exits.',
    OPERAND_RULE,
  ].join('\n\n')

  static override examples = [
    {
      description: 'Create /srv/www and its missing parents.',
      command: '<%= config.bin %> <%= command.id %> -p disk.img:/srv/www',
    },
    {description: 'A private directory.', command: '<%= config.bin %> <%= command.id %> -m 700 disk.img:/root/.ssh'},
  ]

  static override strict = false

  static override args = {
    'IMAGE:PATH...': Args.string({description: 'Directories to create.', required: true}),
  }

  static override flags = {
    parents: Flags.boolean({char: 'p', summary: 'Create missing parents; no error if the directory exists.'}),
    mode: Flags.string({
      char: 'm',
      helpValue: 'MODE',
      summary: 'Mode of the new directories (octal or symbolic, as chmod), not minus the umask.',
    }),
    verbose: Flags.boolean({char: 'v', summary: 'Print a line for each directory created.'}),
  }

  public async run(): Promise<EditResult> {
    const {argv} = await this.parse(Mkdir)
    const {flags} = this
    let mode = 0o777 & ~umask()
    if (flags.mode !== undefined) {
      const m = parseMode(flags.mode)
      if (!m) throw new UsageError(`invalid mode '${flags.mode}'`)
      mode = applyMode(0o777, true, umask(), m).mode
    }
    const parentMode = (0o777 & ~umask()) | 0o300
    for (const text of argv as string[]) {
      const {op, img} = this.operand(text)
      this.attempt(
        text,
        (code) => opError('cannot create directory', text, code),
        () => {
          if (!flags.parents) {
            const t = this.locate(img, text, op.raw)
            if (t.ino !== undefined || !t.name) throw opError('cannot create directory', text, 'EEXIST')
            img.mkdir(t.dir, t.name, dirAttrs(img, t.dir, mode))
            if (flags.verbose) this.say(`created directory '${text}'`)
            return
          }
          // -p: each component in turn, like mkdir -p on the host
          const parts = op.raw.split('/').filter((p) => p !== '')
          let dir = 1
          let shown = text.slice(0, text.length - op.raw.length)
          let sofar = ''
          for (let i = 0; i < parts.length; i++) {
            const part = parts[i]!
            sofar += (sofar || op.raw.startsWith('/') ? '/' : '') + part
            shown = text.slice(0, text.length - op.raw.length) + sofar
            const last = i === parts.length - 1
            if (part === '.') continue
            if (part === '..') {
              dir = img.stat(dir).parent
              continue
            }
            let ino = img.lookup(dir, part)
            if (ino === undefined) {
              try {
                ino = img.mkdir(dir, part, dirAttrs(img, dir, last ? mode : parentMode))
              } catch (e) {
                if (isRazorError(e)) throw opError('cannot create directory', shown, e.code)
                throw e
              }
              if (flags.verbose) this.say(`created directory '${shown}'`)
            } else {
              const st = img.stat(ino)
              if (st.type === 'symlink') ino = img.resolve('/' + parts.slice(0, i + 1).join('/'), {follow: true})
              if (img.stat(ino).type !== 'dir')
                throw opError('cannot create directory', shown, last ? 'EEXIST' : 'ENOTDIR')
            }
            dir = ino
          }
        },
      )
    }
    return this.finishEdit()
  }
}

/** Owner and mode of a new directory of permissions `mode` in `dir` (a set-group-ID parent passes on its group and bit). */
function dirAttrs(img: Image, dir: number, mode: number): {uid: number; gid: number; mode: number} {
  const a = newEntry(img, dir, S_IFDIR | mode)
  return {uid: a.uid, gid: a.gid, mode: a.mode & 0o7777}
}
