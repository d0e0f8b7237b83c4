import fs from 'node:fs'
import {Args, Flags} from '@oclif/core'
import {
  describeHost,
  describeImage,
  describeTar,
  diffEntries,
  excluder,
  type DiffField,
  type Difference,
  type ManifestEntry,
} from '../core/index.js'
import {BaseCommand} from './_base.js'
import {UsageError} from './_shared/errors.js'

const FIELDS: readonly string[] = [
  'mode',
  'owner',
  'uid',
  'gid',
  'size',
  'content',
  'target',
  'dev',
  'xattrs',
  'links',
  'times',
]

export interface DiffResult {
  image: string
  other: string
  otherKind: 'image' | 'directory' | 'tar'
  equal: boolean
  differences: Difference[]
}

/** diff(1)'s convention: 0 same, 1 different, 2 trouble. */
const DIFF_EXIT = [
  {code: 0, meaning: 'No differences.'},
  {code: 1, meaning: 'Differences found (they are listed).'},
  {code: 2, meaning: 'Trouble: an operand cannot be read, bad arguments, or a warning under --strict.'},
]

function isImageFile(path: string): boolean {
  try {
    const fd = fs.openSync(path, 'r')
    try {
      const b = Buffer.alloc(56)
      fs.readSync(fd, b, 0, 56, 0)
      return b.subarray(48, 56).equals(Buffer.from('RAZORFS\0', 'latin1'))
    } finally {
      fs.closeSync(fd)
    }
  } catch {
    return false
  }
}

export default class Diff extends BaseCommand<typeof Diff> {
  static override summary = 'Compare an image with a directory, a tar archive or another image.'

  static override description = [
    'Compares every entry of IMAGE with OTHER, which is a host directory, another RAZORFS image, or a tar archive (a file, gzip-compressed or not, or - for standard input): which paths exist on each side, and for each path its type, permission bits, owner, size, content (SHA-256), symlink target, device numbers, extended attributes and hard-link structure (which paths name the same inode). Modification times are compared with --times; --ignore leaves fields out. Differences are listed one per line ("PATH: FIELD: IMAGE-VALUE | OTHER-VALUE", or "only in IMAGE: PATH"), or as JSON with --json.',
    'For a tar archive the comparison is with the image mkfs --tar would make of it: a later entry for a path replaces an earlier one, and directories the archive only implies (it has entries below them but none for them) are only checked to exist. Paths matching --exclude (the patterns of mkfs --exclude) are left out on both sides.',
    'Exit status follows diff(1): 0 when there is no difference, 1 when there are, 2 on trouble.',
  ].join('\n\n')

  static override examples = [
    {
      description: 'Does the image hold exactly the tree it was built from?',
      command: '<%= config.bin %> <%= command.id %> rootfs.img ./rootfs',
    },
    {
      description: 'Against the tar it was built from with --all-root, ignoring owners.',
      command: '<%= config.bin %> <%= command.id %> rootfs.img rootfs.tar --ignore owner',
    },
    {
      description: 'Two builds, times included, as JSON.',
      command: '<%= config.bin %> <%= command.id %> a.img b.img --times --json',
    },
  ]

  static override args = {
    image: Args.string({description: 'The image.', required: true}),
    other: Args.string({
      description: 'A directory, an image, or a tar archive (- for standard input).',
      required: true,
    }),
  }

  static override flags = {
    times: Flags.boolean({summary: 'Also compare modification times (to the nanosecond).'}),
    ignore: Flags.string({helpValue: 'FIELD,...', summary: `Do not compare these fields: ${FIELDS.join(', ')}.`}),
    exclude: Flags.string({
      char: 'x',
      helpValue: 'PATTERN',
      multiple: true,
      summary: 'Leave out paths matching PATTERN on both sides (as mkfs --exclude).',
    }),
  }

  static override exitStatus = DIFF_EXIT

  public async run(): Promise<DiffResult> {
    const {image, other} = this.args
    this.context = {image}
    const ignore = new Set<string>()
    for (const f of (this.flags.ignore ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)) {
      if (!FIELDS.includes(f)) throw new UsageError(`--ignore: unknown field '${f}' (one of ${FIELDS.join(', ')})`)
      ignore.add(f)
    }
    const warn = (w: {path: string; message: string}) => this.warnLine(`${w.path}: ${w.message}`)
    const a = await this.withImage(image, (img) => describeImage(img, {onWarning: warn}))
    let b: ManifestEntry[]
    let implied: Set<string> | undefined
    let kind: DiffResult['otherKind']
    if (other !== '-' && fs.existsSync(other) && fs.statSync(other).isDirectory()) {
      kind = 'directory'
      b = describeHost(other, {onWarning: warn})
    } else if (other !== '-' && isImageFile(other)) {
      kind = 'image'
      this.context = {image: other}
      b = await this.withImage(other, (img) => describeImage(img))
      this.context = {image}
    } else {
      kind = 'tar'
      const stream = other === '-' ? process.stdin : fs.createReadStream(other)
      const d = await describeTar(stream, other === '-' ? 'standard input' : other, {onWarning: warn})
      b = d.entries
      implied = d.implied
    }
    const ex = excluder(this.flags.exclude)
    if (ex) {
      const keep = (list: ManifestEntry[]) => {
        const dropped: string[] = []
        return list.filter((e) => {
          const rel = e.path.subarray(1)
          if (!rel.length) return true
          const s = e.path.toString('latin1')
          if (dropped.some((d) => s.startsWith(d))) return false
          const type = e.type === 'hardlink' ? 'file' : e.type
          if (!ex(rel, type)) return true
          if (type === 'dir') dropped.push(s + '/')
          return false
        })
      }
      b = keep(b)
      return this.report(image, other, kind, keep(a), b, ignore, implied)
    }
    return this.report(image, other, kind, a, b, ignore, implied)
  }

  private report(
    image: string,
    other: string,
    kind: DiffResult['otherKind'],
    a: ManifestEntry[],
    b: ManifestEntry[],
    ignore: Set<string>,
    implied?: Set<string>,
  ): DiffResult {
    const differences = diffEntries(a, b, {
      ignore: ignore as Set<DiffField | 'times' | 'owner'>,
      times: this.flags.times,
      impliedInB: implied,
    })
    const result: DiffResult = {image, other, otherKind: kind, equal: differences.length === 0, differences}
    if (!this.jsonEnabled()) {
      const lines: string[] = []
      for (const d of differences) {
        if (d.kind === 'only-in-a') lines.push(`only in ${image}: ${d.path} (${d.a})`)
        else if (d.kind === 'only-in-b') lines.push(`only in ${other}: ${d.path} (${d.b})`)
        else lines.push(`${d.path}: ${d.kind}: ${d.a} | ${d.b}`)
      }
      if (lines.length) process.stdout.write(lines.join('\n') + '\n')
    }
    if (!result.equal) process.exitCode = 1
    return result
  }

  /** diff(1): any failure is exit status 2 (1 means "different"). */
  protected override exitFor(): number {
    return 2
  }
}
