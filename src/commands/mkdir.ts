import {Args, Flags} from '@oclif/core'
import {applyMode, makeDirs, parseMode, S_IFDIR, type Image} from '../core/index.js'
import {creator, EditCommand, newEntry, opError, umask, type EditResult} from './_shared/edit.js'
import {UsageError} from './_shared/errors.js'
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
          const prefix = text.slice(0, text.length - op.raw.length)
          const r = makeDirs(img, op.raw, {
            mode,
            parentMode,
            creator: creator(),
            onCreated: (e) => {
              if (flags.verbose) this.say(`created directory '${prefix}${e.path}'`)
            },
          })
          if (r.failure) throw opError('cannot create directory', prefix + r.failure.path, r.failure.code)
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
