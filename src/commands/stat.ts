import {Args, Flags} from '@oclif/core'
import {BaseCommand} from './_base.js'
import {OPERAND_RULE, parseOperand} from './_shared/operand.js'
import {renderStatReport, statReport, type StatReport} from './_shared/stat-report.js'

export default class Stat extends BaseCommand<typeof Stat> {
  static override summary = 'Show the status of a file inside an image, like stat(1).'

  static override description = [
    "Prints stat(1)'s layout: file name (with -> target for a symlink), size, 512-byte blocks allocated, the image's block size, file type; the image, inode number and link count (and major,minor for devices); permissions in octal and as a string with numeric uid and gid; and the access, modify, change and birth times with nanoseconds, in local time.",
    'Symlinks are not followed unless --dereference is given.',
    OPERAND_RULE,
    '--json prints every stat field (times as {sec, nsec}) plus modeString, typeDescription, blocks and ioBlock.',
  ].join('\n\n')

  static override examples = [
    {description: 'A file.', command: '<%= config.bin %> <%= command.id %> disk.img:/etc/passwd'},
    {description: 'The root directory.', command: '<%= config.bin %> <%= command.id %> disk.img'},
  ]

  static override args = {
    'IMAGE[:PATH]': Args.string({
      description: "The image, optionally followed by ':' and a path inside it (default '/').",
      required: true,
    }),
  }

  static override flags = {
    dereference: Flags.boolean({char: 'L', summary: 'Follow a symlink and show what it points to.'}),
  }

  public async run(): Promise<StatReport> {
    const {image, path} = parseOperand(this.args['IMAGE[:PATH]'])
    this.context = {image, path}
    return this.withImage(image, (img) => {
      const ino = img.resolve(path, {follow: this.flags.dereference})
      const st = img.stat(ino)
      const target = st.type === 'symlink' ? img.readlink(ino) : undefined
      const report = statReport(image, path, st, img.info().blockSize, target)
      for (const line of renderStatReport(report, target)) this.log(line)
      return report
    })
  }
}
