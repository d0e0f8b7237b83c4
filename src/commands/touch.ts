import {Args, Flags} from '@oclif/core'
import {isRazorError, now, S_IFREG, type InodeAttrs, type Timespec} from '../core/index.js'
import {fractionNs, timespecFromNs} from '../core/index.js'
import {newEntry, EditCommand, opError, OperandError, umask, type EditResult} from './_shared/edit.js'
import {UsageError} from './_shared/errors.js'
import {OPERAND_RULE} from './_shared/operand.js'

/**
 * The date forms touch -d takes here: now, @SECONDS[.FRACTION] (may be
 * negative), YYYY-MM-DD, and YYYY-MM-DD[T| ]HH:MM[:SS[.FRACTION]] with an
 * optional Z, UTC or ±HH[:MM] (local time without one); anything else
 * JavaScript's Date understands, to the millisecond.
 */
export function parseDate(text: string): Timespec | undefined {
  const t = text.trim()
  if (t === 'now') return now()
  let m = /^@([+-]?)(\d+)(?:[.,](\d+))?$/.exec(t)
  if (m) {
    const ns = BigInt(m[2]!) * 1_000_000_000n + fractionNs(m[3])
    return timespecFromNs(m[1] === '-' ? -ns : ns)
  }
  m =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?$/i.exec(
      t,
    )
  if (m) {
    const [, y, mo, d, h = '0', mi = '0', s = '0', frac, zone] = m
    const fields = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)] as const
    if (
      Number(mo) < 1 ||
      Number(mo) > 12 ||
      Number(d) < 1 ||
      Number(d) > 31 ||
      Number(h) > 23 ||
      Number(mi) > 59 ||
      Number(s) > 60
    )
      return undefined
    let ms: number
    if (zone) {
      ms = Date.UTC(...fields)
      if (!/^(Z|UTC)$/i.test(zone)) {
        const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!
        ms -= (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3] ?? 0)) * 60_000
      }
    } else ms = new Date(...fields).getTime()
    if (Number.isNaN(ms)) return undefined
    return timespecFromNs(BigInt(ms) * 1_000_000n + fractionNs(frac))
  }
  const ms = Date.parse(t)
  return Number.isNaN(ms) ? undefined : timespecFromNs(BigInt(ms) * 1_000_000n)
}

/** touch -t [[CC]YY]MMDDhhmm[.ss], local time. */
export function parseStamp(text: string): Timespec | undefined {
  const m = /^(\d{2}|\d{4})?(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{2}))?$/.exec(text)
  if (!m) return undefined
  let year: number
  if (m[1] === undefined) year = new Date().getFullYear()
  else if (m[1].length === 4) year = Number(m[1])
  else year = Number(m[1]) + (Number(m[1]) < 69 ? 2000 : 1900)
  const [mo, d, h, mi, s] = [Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)]
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined
  const ms = new Date(year, mo - 1, d, h, mi, s).getTime()
  return Number.isNaN(ms) ? undefined : timespecFromNs(BigInt(ms) * 1_000_000n)
}

export default class Touch extends EditCommand<typeof Touch> {
  static override summary = 'Change file times inside an image, creating empty files.'

  static override description = [
    'Like touch(1): sets the access and modification times of each file to the current time (or --date, --stamp, or those of --reference), creating an empty file (mode 0666 minus the umask, owned by the user running razorfs; in a set-group-ID directory, with its group) when it does not exist, unless -c. -a or -m change only one of the two times. A symbolic link is followed unless -h is given.',
    '--date takes now, @SECONDS[.FRACTION] (seconds since 1970, may be negative, to the nanosecond), YYYY-MM-DD, or YYYY-MM-DD HH:MM[:SS[.FRACTION]] with an optional Z, UTC or ±HH:MM (local time, TZ, otherwise). --stamp takes [[CC]YY]MMDDhhmm[.ss] in local time.',
    'Each file is one journaled operation; the image is committed before razorfs exits.',
    OPERAND_RULE,
  ].join('\n\n')

  static override examples = [
    {
      description: 'Create an empty file, or update its times.',
      command: '<%= config.bin %> <%= command.id %> disk.img:/var/log/boot.log',
    },
    {
      description: 'Set a fixed modification time (reproducible images).',
      command: '<%= config.bin %> <%= command.id %> -m -d @1700000000 disk.img:/etc/os-release',
    },
  ]

  static override strict = false

  static override args = {
    'IMAGE:PATH...': Args.string({description: 'Files to touch.', required: true}),
  }

  static override flags = {
    access: Flags.boolean({char: 'a', summary: 'Change only the access time.'}),
    modification: Flags.boolean({char: 'm', summary: 'Change only the modification time.'}),
    'no-create': Flags.boolean({char: 'c', summary: 'Do not create missing files.'}),
    'no-dereference': Flags.boolean({
      char: 'h',
      summary: 'Change a symbolic link itself, not what it points to (implies -c).',
    }),
    date: Flags.string({
      char: 'd',
      helpValue: 'DATE',
      summary: 'Use DATE instead of the current time.',
      exclusive: ['stamp', 'reference'],
    }),
    stamp: Flags.string({
      char: 't',
      helpValue: 'STAMP',
      summary: 'Use [[CC]YY]MMDDhhmm[.ss] instead of the current time.',
      exclusive: ['reference'],
    }),
    reference: Flags.string({
      char: 'r',
      helpValue: 'IMAGE:PATH',
      summary: "Use this file's times (a path in the same image).",
    }),
  }

  public async run(): Promise<EditResult> {
    const {argv} = await this.parse(Touch)
    const {flags} = this
    let when: {atime: Timespec; mtime: Timespec} | undefined
    if (flags.date !== undefined) {
      const t = parseDate(flags.date)
      if (!t) throw new UsageError(`invalid date format '${flags.date}'`)
      when = {atime: t, mtime: t}
    } else if (flags.stamp !== undefined) {
      const t = parseStamp(flags.stamp)
      if (!t) throw new UsageError(`invalid date format '${flags.stamp}'`)
      when = {atime: t, mtime: t}
    }
    for (const text of argv as string[]) {
      const {op, img} = this.operand(text)
      if (flags.reference !== undefined && !when) {
        const ref = this.operand(flags.reference)
        try {
          const st = ref.img.stat(ref.img.resolve(ref.op.path, {follow: true}))
          when = {atime: st.atime, mtime: st.mtime}
        } catch (e) {
          if (isRazorError(e))
            throw new UsageError(
              `failed to get attributes of '${flags.reference}': ${e.code === 'ENOENT' ? 'No such file or directory' : e.message}`,
            )
          throw e
        }
      }
      this.attempt(
        text,
        (code) => opError('cannot touch', text, code),
        () => {
          const follow = !flags['no-dereference']
          const t = now()
          const times = when ?? {atime: t, mtime: t}
          const attrs: InodeAttrs = {}
          if (!flags.modification || flags.access) attrs.atime = times.atime
          if (!flags.access || flags.modification) attrs.mtime = times.mtime
          let ino: number | undefined
          try {
            ino = img.resolve(op.path, {follow})
          } catch (e) {
            if (!isRazorError(e, 'ENOENT')) throw e
          }
          if (ino === undefined) {
            if (flags['no-create']) return
            if (flags['no-dereference'])
              throw new OperandError(`setting times of '${text}': No such file or directory`, 'ENOENT')
            // create it (through a dangling symlink, at its target, as open(O_CREAT) does)
            const target = this.locate(img, text, op.raw)
            if (target.ino !== undefined && img.stat(target.ino).type === 'symlink')
              throw opError('cannot touch', text, 'ENOENT')
            if (!target.name || target.dot) throw opError('cannot touch', text, 'EISDIR')
            if (target.slash) throw opError('cannot touch', text, 'EISDIR')
            const created = img.create(target.dir, target.name, newEntry(img, target.dir, S_IFREG | (0o666 & ~umask())))
            if (when) img.setattr(created, attrs)
            return
          }
          if (op.raw.endsWith('/') && img.stat(ino).type !== 'dir') throw opError('cannot touch', text, 'ENOTDIR')
          img.setattr(ino, attrs)
        },
      )
    }
    return this.finishEdit()
  }
}
