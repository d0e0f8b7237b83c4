/** oclif help with an EXIT STATUS section (from the shared exit-code table) on every page. */
import {type Command, CommandHelp, Help} from '@oclif/core'
import {EXIT_STATUS, type ExitStatusRow} from './exit-codes.js'

/** The EXIT STATUS rows of a (cached) command: its static `exitStatus`, or the common table. */
export function exitStatusOf(command: Command.Loadable | Command.Class): readonly ExitStatusRow[] {
  const rows = (command as {exitStatus?: readonly ExitStatusRow[]}).exitStatus
  return rows ?? EXIT_STATUS
}

function exitStatusTable(rows: readonly ExitStatusRow[]): [string, string][] {
  return rows.map((r) => [String(r.code), r.meaning])
}

/** Declared order, but flags with a short form first (oclif misaligns a group whose first flag has none). */
export function orderFlags<F extends {char?: string}>(flags: F[]): F[] {
  return [...flags.filter((f) => f.char), ...flags.filter((f) => !f.char)]
}

class RazorCommandHelp extends CommandHelp {
  protected override flags(flags: Parameters<CommandHelp['flags']>[0]): ReturnType<CommandHelp['flags']> {
    return super.flags(orderFlags(flags))
  }

  protected override sections(): ReturnType<CommandHelp['sections']> {
    const sections = super.sections()
    const allowed = this.opts.sections?.map((s) => s.toLowerCase())
    if (!allowed || allowed.includes('exit status')) {
      sections.push({
        header: 'EXIT STATUS',
        generate: (_data, header) => [{header, body: exitStatusTable(exitStatusOf(this.command))}],
      })
    }
    return sections
  }
}

export default class RazorHelp extends Help {
  protected override CommandHelpClass = RazorCommandHelp

  protected override async showRootHelp(): Promise<void> {
    await super.showRootHelp()
    this.log(this.section('EXIT STATUS', exitStatusTable(EXIT_STATUS)))
    this.log('')
  }
}
