import {Args, Flags} from '@oclif/core'
import {chownTree, isRazorError, type ChownEntry, type Image} from '../core/index.js'
import {EditCommand, opError, type EditResult} from './_shared/edit.js'
import {UsageError} from './_shared/errors.js'
import {OPERAND_RULE} from './_shared/operand.js'

const ID_MAX = 0xfffffffe

/** Names from the image's own /etc/passwd and /etc/group (the host's mean nothing inside an image). */
class ImageNames {
  private users?: Map<string, {uid: number; gid: number}>
  private groups?: Map<string, number>
  constructor(private readonly img: Image) {}

  private read(path: string): string[] {
    try {
      return this.img
        .readFile(this.img.resolve(path, {follow: true}))
        .toString('utf8')
        .split('\n')
    } catch {
      return []
    }
  }

  user(name: string): {uid: number; gid: number} | undefined {
    if (!this.users) {
      this.users = new Map()
      for (const line of this.read('/etc/passwd')) {
        const f = line.split(':')
        if (f.length >= 4 && /^\d+$/.test(f[2]!) && /^\d+$/.test(f[3]!))
          this.users.set(f[0]!, {uid: Number(f[2]), gid: Number(f[3])})
      }
    }
    return this.users.get(name)
  }

  group(name: string): number | undefined {
    if (!this.groups) {
      this.groups = new Map()
      for (const line of this.read('/etc/group')) {
        const f = line.split(':')
        if (f.length >= 3 && /^\d+$/.test(f[2]!)) this.groups.set(f[0]!, Number(f[2]))
      }
    }
    return this.groups.get(name)
  }
}

const numeric = (s: string): number | undefined => (/^\d+$/.test(s) && Number(s) <= ID_MAX ? Number(s) : undefined)

/** OWNER[:[GROUP]] or :GROUP → uid/gid (undefined: unchanged). */
export function parseOwnerSpec(spec: string, names: ImageNames): {uid?: number; gid?: number} | string {
  const colon = spec.indexOf(':')
  const user = colon === -1 ? spec : spec.slice(0, colon)
  const group = colon === -1 ? undefined : spec.slice(colon + 1)
  const out: {uid?: number; gid?: number} = {}
  let login: number | undefined
  if (user !== '') {
    const n = numeric(user)
    if (n !== undefined) out.uid = n
    else {
      const u = names.user(user)
      if (!u) return `invalid user: '${spec}'`
      out.uid = u.uid
      login = u.gid
    }
  }
  if (group !== undefined) {
    if (group === '') {
      if (user === '') return out
      if (login === undefined) return `invalid spec: '${spec}'`
      out.gid = login
    } else {
      const n = numeric(group)
      if (n !== undefined) out.gid = n
      else {
        const g = names.group(group)
        if (g === undefined) return `invalid group: '${spec}'`
        out.gid = g
      }
    }
  }
  return out
}

export default class Chown extends EditCommand<typeof Chown> {
  static override summary = 'Change the owner and group of files inside an image.'

  static override description = [
    "Like chown(1): OWNER[:[GROUP]], or :GROUP. Owners and groups are numbers; names are looked up in the image's own /etc/passwd and /etc/group (never the host's, which may number users differently); OWNER: sets the group to the owner's login group from that file.",
    'A symbolic link given as an operand is followed unless -h is given; with -R, links are never followed and the links themselves are changed. As Linux does, changing the owner of anything but a directory clears its set-user-ID bit, and its set-group-ID bit when it is group-executable.',
    'Each change is one journaled operation; the image is committed before razorfs exits.',
    OPERAND_RULE,
  ].join('\n\n')

  static override examples = [
    {
      description: 'Give a home directory to uid 1000, group 1000.',
      command: '<%= config.bin %> <%= command.id %> -R 1000:1000 disk.img:/home/alice',
    },
    {
      description: "By name, from the image's /etc/passwd.",
      command: '<%= config.bin %> <%= command.id %> www-data: disk.img:/srv/www',
    },
  ]

  static override strict = false

  static override args = {
    'OWNER[:GROUP]': Args.string({description: 'New owner and/or group.', required: true}),
    'IMAGE:PATH...': Args.string({description: 'Files to change.', required: true}),
  }

  static override flags = {
    recursive: Flags.boolean({char: 'R', summary: 'Change files and directories recursively.'}),
    'no-dereference': Flags.boolean({char: 'h', summary: 'Change symbolic links themselves, not what they point to.'}),
    verbose: Flags.boolean({char: 'v', summary: 'Print a line for every file processed.'}),
    changes: Flags.boolean({char: 'c', summary: 'Like --verbose, but only for changes.'}),
  }

  public async run(): Promise<EditResult> {
    const {argv} = await this.parse(Chown)
    const [spec, ...texts] = argv as string[]
    if (texts.length === 0) throw new UsageError(`missing operand after '${spec}'`)
    const {flags} = this
    let ids: {uid?: number; gid?: number} | undefined
    for (const text of texts) {
      const {op, img} = this.operand(text)
      if (!ids) {
        const parsed = parseOwnerSpec(spec!, new ImageNames(img))
        if (typeof parsed === 'string') throw new UsageError(parsed)
        ids = parsed
      }
      const want = ids
      this.attempt(
        text,
        (code) => opError('cannot access', text, code),
        () => {
          const follow = !flags['no-dereference'] && !flags.recursive
          let ino: number
          try {
            ino = img.resolve(op.path, {follow})
          } catch (e) {
            if (isRazorError(e)) throw opError('cannot access', text, e.code)
            throw e
          }
          chownTree(img, ino, want, {recursive: flags.recursive, path: text, onEntry: this.report})
        },
      )
    }
    return this.finishEdit()
  }

  /** -v/-c lines. */
  private readonly report = (e: ChownEntry): void => {
    const changed = e.uid !== e.oldUid || e.gid !== e.oldGid
    const {verbose, changes} = this.flags
    if (verbose || (changes && changed)) {
      this.say(
        changed
          ? `changed ownership of '${e.path}' from ${e.oldUid}:${e.oldGid} to ${e.uid}:${e.gid}`
          : `ownership of '${e.path}' retained as ${e.uid}:${e.gid}`,
      )
    }
  }
}
