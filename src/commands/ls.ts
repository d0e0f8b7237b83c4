import {Args, Flags} from '@oclif/core'
import type {Image} from '../core/index.js'
import {BaseCommand} from './_base.js'
import {
  listDirectory,
  lsEntry,
  renderLong,
  renderShort,
  totalLine,
  withDetails,
  type Listed,
  type LsEntry,
} from './_shared/listing.js'
import {displayName} from './_shared/names.js'
import {OPERAND_RULE, parseOperand} from './_shared/operand.js'

export default class Ls extends BaseCommand<typeof Ls> {
  static override summary = 'List a directory inside an image.'

  static override description = [
    "Like ls(1): names are sorted by their bytes, one per line; names starting with '.' are shown only with --all. Names that are not valid UTF-8, and control characters, are escaped like ls -b (e.g. '\\377', '\\n', '\\\\').",
    '--long shows the mode (with s/S and t/T for set-id and sticky bits), link count, numeric uid and gid, size (or major, minor for devices), modification time (YYYY-MM-DD HH:MM, local time) and name, with -> target for symlinks. A symlink given as PATH is followed unless --long is given.',
    OPERAND_RULE,
    '--json prints an array of entries: name (and nameBase64 when the name is not UTF-8), path, ino, type, mode, modeString, nlink, uid, gid, size, allocated, major and minor (devices), mtime, and target (symlinks).',
  ].join('\n\n')

  static override examples = [
    {description: 'The root directory.', command: '<%= config.bin %> <%= command.id %> disk.img'},
    {
      description: 'Details of /etc, including hidden files.',
      command: '<%= config.bin %> <%= command.id %> -la disk.img:/etc',
    },
    {description: 'Everything, recursively.', command: '<%= config.bin %> <%= command.id %> -lR disk.img'},
  ]

  static override args = {
    'IMAGE[:PATH]': Args.string({
      description: "The image, optionally followed by ':' and a path inside it (default '/').",
      required: true,
    }),
  }

  static override flags = {
    long: Flags.boolean({char: 'l', summary: 'Long format: mode, links, uid, gid, size, time, name.'}),
    recursive: Flags.boolean({char: 'R', summary: 'List subdirectories recursively.'}),
    all: Flags.boolean({char: 'a', summary: "Include names starting with '.', and '.' and '..'."}),
  }

  private json = false
  private entries: LsEntry[] = []
  /** Text lines not yet written. */
  private out: string[] = []
  /** Whether any line has been produced (for the blank line between -R sections). */
  private printed = false

  public async run(): Promise<LsEntry[]> {
    const operand = parseOperand(this.args['IMAGE[:PATH]'])
    this.context = {image: operand.image, path: operand.path}
    this.json = this.jsonEnabled()
    await this.withImage(operand.image, (img) => this.listOperand(img, operand.path))
    this.flush()
    return this.entries
  }

  private listOperand(img: Image, path: string): void {
    const {long} = this.flags
    let ino = img.resolve(path, {follow: false})
    let stat = img.stat(ino)
    if (stat.type === 'symlink' && !long) {
      const target = img.resolve(path, {follow: true})
      const targetStat = img.stat(target)
      if (targetStat.type === 'dir') [ino, stat] = [target, targetStat]
    }
    const bytes = Buffer.from(path)
    if (stat.type !== 'dir') {
      const name = Buffer.from(path.split('/').pop() || '/')
      const entry = withDetails(img, {name, ino, type: stat.type, path: bytes, stat})
      this.emit([entry], () => displayName(bytes))
      return
    }
    this.listTree(img, ino, bytes, this.flags.recursive)
  }

  private listTree(img: Image, dir: number, path: Buffer, recursive: boolean): void {
    const {all, long} = this.flags
    const entries = listDirectory(img, dir, path, {all, details: long || this.json})
    if (!this.json) {
      if (recursive) {
        if (this.printed) this.out.push('')
        this.out.push(`${displayName(path)}:`)
        this.printed = true
      }
      if (long) this.out.push(totalLine(entries))
    }
    this.emit(entries)
    if (!recursive) return
    for (const e of entries) {
      const isDotOrDotDot = e.name.length <= 2 && /^\.\.?$/.test(e.name.toString('latin1'))
      if (e.type === 'dir' && !isDotOrDotDot) this.listTree(img, e.ino, e.path, true)
    }
  }

  private emit(entries: Listed[], label?: (e: Listed) => string): void {
    if (this.json) {
      for (const e of entries) this.entries.push(lsEntry(e))
      return
    }
    for (const line of this.flags.long ? renderLong(entries, label) : renderShort(entries, label)) this.out.push(line)
    this.printed ||= entries.length > 0
    if (this.out.length > 4096) this.flush()
  }

  /** Write the buffered lines. */
  private flush(): void {
    if (this.out.length === 0) return
    process.stdout.write(this.out.join('\n') + '\n')
    this.out = []
  }
}
