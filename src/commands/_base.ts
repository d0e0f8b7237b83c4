/**
 * BaseCommand: the global flags (--json, --quiet, --debug), JSON output and
 * the one-line error report every razorfs command shares.
 */
import {Command, Errors, Flags, type Interfaces} from '@oclif/core'
import {CommandError, describeError, describeUsageError, type ErrorContext} from './_shared/errors.js'
import {EXIT} from './_shared/exit-codes.js'
import {EXIT_STATUS, type ExitStatusRow} from './_shared/exit-codes.js'
import {hasFlag, printError, successEnvelope, writeJson, type Warning} from './_shared/report.js'
import {colors} from './_shared/terminal.js'
import {withImage} from './_shared/open.js'
import type {Image} from '../core/index.js'

export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>
export type CommandArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    json: Flags.boolean({
      summary:
        'Print one JSON envelope on stdout: {status, exit, result, warnings}, or {status, exit, error, warnings} (docs/json-envelope.schema.json).',
      helpGroup: 'GLOBAL',
    }),
    quiet: Flags.boolean({char: 'q', summary: 'Print only the requested output and errors.', helpGroup: 'GLOBAL'}),
    debug: Flags.boolean({summary: 'Show a stack trace when the command fails.', helpGroup: 'GLOBAL'}),
    strict: Flags.boolean({summary: 'Fail (exit 1) if there was any warning or skipped entry.', helpGroup: 'GLOBAL'}),
  }

  /** Rows of this command's EXIT STATUS section (help and man page). */
  static exitStatus: readonly ExitStatusRow[] = EXIT_STATUS

  protected flags!: CommandFlags<T>
  protected args!: CommandArgs<T>
  /** What the command is working on; errors name it. */
  protected context: ErrorContext = {}
  /** Warnings so far (shown or not): the JSON envelope lists them, and under --strict any of them fails the command. */
  protected warnings: Warning[] = []

  public override async init(): Promise<void> {
    await super.init()
    const {args, flags} = await this.parse({
      args: this.ctor.args,
      baseFlags: (this.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      flags: this.ctor.flags,
      strict: this.ctor.strict,
    })
    this.flags = flags as CommandFlags<T>
    this.args = args as CommandArgs<T>
    // --strict: a command that warned fails once it is done (its output is already written).
    // --json: the result goes out in the envelope, with the exit status and the warnings (oclif prints what run
    // returns, and nothing when that is undefined: the envelope is never undefined).
    const run = this.run.bind(this)
    this.run = async () => {
      const result = await run()
      this.enforceStrict()
      return this.jsonEnabled() ? successEnvelope(result, Number(process.exitCode ?? 0), this.warnings) : result
    }
  }

  /** Under --strict, fail if anything was warned about. Commands may call it earlier (mkfs, to discard its image). */
  protected enforceStrict(): void {
    if (!this.flags?.strict || this.warnings.length === 0) return
    const n = this.warnings.length
    throw new CommandError(`${n} warning${n === 1 ? '' : 's'} and --strict: failing`, EXIT.FAILED, 'ESTRICT')
  }

  /** True with --quiet (and under --json, where only the JSON is printed). */
  protected get quiet(): boolean {
    return Boolean(this.flags?.quiet) || this.jsonEnabled()
  }

  private debugEnabled(): boolean {
    return Boolean(this.flags?.debug) || hasFlag(this.argv, '--debug')
  }

  /** Open an image read-only for fn (see withImage); a recovered journal is mentioned on stderr. */
  protected withImage<R>(path: string, fn: (img: Image) => R | Promise<R>): Promise<R> {
    return withImage(path, fn, (m) => this.warnLine(m))
  }

  /** The exit status for a failure of class `exit` (see exit-codes.ts); fsck maps them to fsck(8)'s. */
  protected exitFor(exit: number): number {
    return exit
  }

  /** A warning on stderr, unless --quiet or --json; the JSON envelope lists it (with its code and path if given). */
  protected warnLine(message: string, detail: {code?: string; path?: string} = {}): void {
    this.warnings.push({message, ...detail})
    if (!this.quiet) process.stderr.write(`${colors().err.yellow('razorfs: warning:')} ${message}\n`)
  }

  /** Plain, uncoloured JSON (the envelope): it is for programs. */
  protected override logJson(json: unknown): void {
    writeJson(json)
  }

  protected override async catch(err: Error & {exitCode?: number}): Promise<never> {
    if (err instanceof Errors.ExitError) throw err
    // Anything thrown before parsing finished is about the command line.
    const report = this.parsed ? describeError(err, this.context, this.id) : describeUsageError(err, this.id)
    report.exit = this.exitFor(report.exit)
    printError(report, this.jsonEnabled(), this.warnings)
    if (this.debugEnabled()) process.stderr.write(`${err.stack ?? String(err)}\n`)
    return this.exit(report.exit)
  }
}
