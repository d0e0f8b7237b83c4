/**
 * fsck: the passes around the consistency check — superblock (restore a
 * destroyed primary from the backup, extend a truncated file), journal
 * (recover first), the check itself, and repair under an undo log with a
 * re-check that rolls the repair back unless the image comes out clean.
 * Exit values are fsck(8)'s.
 */
import fs from 'node:fs'
import {FileDevice, type BlockDevice} from '../io/device.js'
import {fail, isRazorError, RazorError} from '../errors.js'
import {hasFeature, withoutFeature} from '../format/features.js'
import {STATE_CLEAN} from '../format/superblock.js'
import {Image} from '../image/image.js'
import {acquireWriterLock} from '../io/lock.js'
import {OverlayDevice} from '../io/overlay-device.js'
import {writeSuperblock} from '../image/superblock.js'
import {applyUndo, endUndo, interruptedRepair, UndoDevice} from '../io/undo.js'
import {formatCode, makeProblem, problemDef, type Problem, type ProblemName} from './problems.js'
import {repairVolume, type RepairAction} from './repair.js'
import {superblockPass} from './passes/pass0-superblock.js'
import {journalPass} from './passes/pass1-journal.js'
import {now} from '../types.js'
import './image-check.js' // Image.check(), used below
import type {CheckResult} from './check.js'

export const FSCK_EXIT = {OK: 0, CORRECTED: 1, UNCORRECTED: 4, OPERATIONAL: 8, USAGE: 16, CANCELLED: 32} as const

export type FsckMode = 'check' | 'preen' | 'repair'

export interface FsckOptions {
  mode: FsckMode
  /** Check even when the image is marked clean. */
  force?: boolean
  checkData?: boolean
  /** With preen or repair: compute the repair plan, write nothing. */
  dryRun?: boolean
  /** Where the undo log goes (default IMAGE.undo). */
  undoFile?: string
  onPass?: (pass: string) => void
  /**
   * Called once the repair has been written and before the re-check. Meant
   * for tests: damaging the image here stands for a repair that made things
   * worse, and proves that the re-check rolls the image back.
   * @internal
   */
  afterRepair?: (path: string) => void
  /**
   * Make the Nth write (or resize) of the repair to the image fail with
   * ENOSPC, as a full host disk or a bug would. Meant for tests: every
   * failure must leave the image byte for byte as it was.
   * @internal
   */
  failWrite?: number
  /**
   * Stop at the Nth write (or resize) of the repair to the image as a
   * SIGKILL would: nothing rolled back, nothing more written (the call throws
   * SimulatedCrash). Meant for tests: the next fsck must put things right.
   * @internal
   */
  crashAtWrite?: number
}

/** What FsckOptions.crashAtWrite throws. @internal */
export class SimulatedCrash extends Error {}

export interface FsckProblem {
  code: string
  id: string
  pass: string
  severity: string
  inode?: number
  block?: number
  path?: string
  message: string
  action: string
  fixed: boolean
}

export interface FsckReport {
  image: string
  mode: FsckMode
  dryRun: boolean
  /** The clean fast path was taken: nothing was checked beyond the superblock. */
  skipped: boolean
  problems: FsckProblem[]
  /** What repair changed (or, in a dry run, would change). */
  actions: RepairAction[]
  /** Where the undo log was written, when anything was written. */
  undo?: string
  rolledBack: boolean
  summary: {inodes: number; directories: number; files: number; usedBlocks: number; blocks: number}
  exit: number
}

/**
 * Check (and with mode repair/preen, repair) the image at `path`. A repair
 * that was interrupted (killed, power cut) once its own writes had begun is
 * first rolled back from its undo log (FORMAT.md §14): reported as
 * REPAIR_INTERRUPTED, fixed by the rollback; a check alone reports it.
 */
export function fsck(path: string, opts: FsckOptions): FsckReport {
  const undoPath = opts.undoFile ?? `${path}.undo`
  if (!interruptedRepair(undoPath, path)) return fsckImage(path, opts)
  const problem = makeProblem('REPAIR_INTERRUPTED', {detail: undoPath})
  if (opts.mode === 'check' || opts.dryRun) {
    const report = fsckImage(path, {...opts, force: true})
    report.problems.unshift(record(problem, false))
    report.exit |= FSCK_EXIT.UNCORRECTED
    return report
  }
  const release = acquireWriterLock(path)
  try {
    applyUndo(undoPath, path)
    endUndo(undoPath)
  } finally {
    release()
  }
  const report = fsckImage(path, {...opts, force: true})
  report.problems.unshift(record(problem, true))
  report.exit |= FSCK_EXIT.CORRECTED
  return report
}

function fsckImage(path: string, opts: FsckOptions): FsckReport {
  const report: FsckReport = {
    image: path,
    mode: opts.mode,
    dryRun: Boolean(opts.dryRun),
    skipped: false,
    problems: [],
    actions: [],
    rolledBack: false,
    summary: {inodes: 0, directories: 0, files: 0, usedBlocks: 0, blocks: 0},
    exit: 0,
  }
  const found: Problem[] = []
  const add = (name: ProblemName, ctx: Parameters<typeof makeProblem>[1]) => found.push(makeProblem(name, ctx))

  opts.onPass?.('superblock')
  const {sbl, patch, truncatedTo} = superblockPass(path, add)
  const {sb, geo} = sbl
  const needsRecovery = hasFeature(sb.incompat, 'needs_recovery')
  const clean = (sb.state & STATE_CLEAN) !== 0 && !needsRecovery
  if (!opts.force && clean && !found.length && !opts.checkData) {
    report.skipped = true
    report.summary = {
      inodes: sb.inodeCount,
      directories: 0,
      files: 0,
      usedBlocks: sb.blockCount - sb.freeBlocks,
      blocks: sb.blockCount,
    }
    return report
  }

  // pass 1 (journal), then the check's passes, on a read-only view (primary patched from the backup, truncation zero-filled)
  opts.onPass?.('journal')
  const view = (inner: BlockDevice): BlockDevice =>
    patch || truncatedTo !== undefined
      ? new OverlayDevice(
          inner,
          geo.blockSize,
          patch ? new Map([[0, patch]]) : new Map(),
          geo.blockCount * geo.blockSize,
        )
      : inner
  const ro = Image.openDevice(path, view(FileDevice.open(path, true)), {readOnly: true})
  let result: CheckResult
  try {
    journalPass(ro.recovery, add)
    result = ro.check({checkData: opts.checkData, onPass: opts.onPass})
    // a damaged range recovery named is not reported a second time by --check-data
    const named = new Set(
      (ro.recovery?.damaged ?? []).filter((x) => x.offset !== undefined).map((x) => `${x.ino}:${x.offset}`),
    )
    found.push(...result.problems.filter((p) => !(p.id === 'DATA_CHECKSUM' && named.has(`${p.ino}:${p.found}`))))
    report.summary = {
      inodes: result.inodes,
      directories: result.directories,
      files: result.files,
      usedBlocks: result.usedBlocks,
      blocks: result.blocks,
    }
    const inconsistent = found.filter((p) => !problemDef(p.id).afterCrash)
    const fixable = found.filter((p) => !problemDef(p.id).unfixable)
    if (opts.mode !== 'check' && fixable.length) {
      const unsafe = inconsistent.filter((p) => !problemDef(p.id).preenOk)
      if (opts.mode === 'preen' && unsafe.length) {
        report.problems = found.map((p) => record(p, false))
        report.exit = FSCK_EXIT.UNCORRECTED
        return report
      }
      if (opts.dryRun) {
        report.actions = repairVolume(ro.volume, {dryRun: true, time: now()}).actions
        report.problems = found.map((p) => record(p, false))
        report.exit = inconsistent.length ? FSCK_EXIT.UNCORRECTED : FSCK_EXIT.OK
        return report
      }
    } else {
      report.problems = found.map((p) => record(p, false))
      report.exit = inconsistent.length ? FSCK_EXIT.UNCORRECTED : FSCK_EXIT.OK
      return report
    }
    if (!found.length) return report
  } finally {
    ro.abandon()
  }

  // repair, under the undo log: from the first write on, any failure (no space, an I/O error, a bug)
  // puts back every block written, so the image is byte for byte as it was
  const undoPath = opts.undoFile ?? `${path}.undo`
  const release = acquireWriterLock(path)
  let remaining: Problem[]
  try {
    const file = FileDevice.open(path, false)
    let undo: UndoDevice
    try {
      const inner = opts.failWrite
        ? failingAt(file, opts.failWrite)
        : opts.crashAtWrite
          ? failingAt(file, opts.crashAtWrite, true)
          : file
      undo = new UndoDevice(inner, geo.blockSize, undoPath, sbl.uuid)
    } catch (e) {
      file.close()
      if (isRazorError(e)) throw e
      throw fail(
        'EIO',
        `cannot write the undo log ${undoPath} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); nothing was changed: give a writable place with --undo FILE`,
        {path: undoPath},
      )
    }
    report.undo = undoPath
    try {
      if (truncatedTo !== undefined) undo.resize(geo.blockCount * geo.blockSize)
      if (patch) undo.write(0, patch)
      // recover the journal, as a read-write open does
      Image.openDevice(path, nonClosing(undo), {readOnly: false, reapOrphans: false}).close()
      // from here a crash leaves a half-rebuilt image: the next fsck rolls it back (interruptedRepair)
      undo.arm()
      const img = Image.openDevice(path, nonClosing(undo), {readOnly: true})
      try {
        const v = img.volume
        const r = repairVolume(v, {time: now()})
        report.actions = r.actions
        Object.assign(v.sb, {
          treeRoot: r.superblock.treeRoot,
          treeHeight: r.superblock.treeHeight,
          freeBlocks: r.superblock.freeBlocks,
          inodeCount: r.superblock.inodeCount,
          nextIno: r.superblock.nextIno,
        })
        v.sb.generation++
        v.sb.state = (v.sb.state | STATE_CLEAN) & ~2
        v.sb.incompat = withoutFeature(v.sb.incompat, 'needs_recovery')
        writeSuperblock(undo, v.sb, v.uuid, geo, true)
        undo.flush()
      } finally {
        img.abandon()
      }
    } catch (e) {
      undo.close()
      if (e instanceof SimulatedCrash) throw e
      throw rolledBack(e, undoPath, path)
    }
    undo.close()

    // re-check (read-only); roll back unless clean
    opts.afterRepair?.(path)
    opts.onPass?.('recheck')
    try {
      const again = Image.open(path)
      try {
        const c = again.check({checkData: opts.checkData})
        remaining = c.problems.filter((p) => p.id !== 'DATA_CHECKSUM')
        report.summary = {
          inodes: c.inodes,
          directories: c.directories,
          files: c.files,
          usedBlocks: c.usedBlocks,
          blocks: c.blocks,
        }
      } finally {
        again.close()
      }
    } catch (e) {
      throw rolledBack(e, undoPath, path)
    }
    if (remaining.length) {
      applyUndo(undoPath, path)
      report.rolledBack = true
    }
    endUndo(undoPath)
  } finally {
    release()
  }
  if (remaining.length) {
    report.problems = [...found.map((p) => record(p, false)), ...remaining.map((p) => record(p, false))]
    report.exit = FSCK_EXIT.UNCORRECTED
    return report
  }
  report.problems = found.map((p) => record(p, !problemDef(p.id).unfixable))
  report.exit = found.some((p) => problemDef(p.id).unfixable)
    ? FSCK_EXIT.CORRECTED | FSCK_EXIT.UNCORRECTED
    : FSCK_EXIT.CORRECTED
  return report
}

/**
 * A repair failed after it began writing: put back every block it wrote
 * (the image is then byte for byte as it was) and say so. The error keeps its
 * code, so the exit status stays the operational one (8).
 */
function rolledBack(e: unknown, undoPath: string, path: string): unknown {
  try {
    applyUndo(undoPath, path)
    endUndo(undoPath)
  } catch (u) {
    const why = u instanceof Error ? u.message : String(u)
    if (isRazorError(e))
      return new RazorError(
        e.code,
        `${e.message}; rolling the repair back failed too (${why}): revert it with 'razorfsck --undo ${undoPath} ${path}'`,
        e.data,
      )
    return e
  }
  if (isRazorError(e))
    return new RazorError(e.code, `${e.message}; the repair was rolled back: the image is as it was`, e.data)
  if (e instanceof Error) e.message += '; the repair was rolled back: the image is as it was'
  return e
}

function record(p: Problem, fixed: boolean): FsckProblem {
  return {
    code: formatCode(p.code),
    id: p.id,
    pass: p.pass,
    severity: p.severity,
    inode: p.ino,
    block: p.block,
    path: p.path,
    message: p.message,
    action: problemDef(p.id).fix,
    fixed,
  }
}

/** A device whose close() does nothing (several opens share one undo device). */
function nonClosing(d: BlockDevice): BlockDevice {
  return {
    get size() {
      return d.size
    },
    read: (p, l) => d.read(p, l),
    write: (p, b) => d.write(p, b),
    flush: () => d.flush(),
    resize: (s) => d.resize(s),
    close: () => {},
  }
}

/** A device whose `n`th write or resize fails (FsckOptions.failWrite), or stops the repair as a crash would (crashAtWrite). */
function failingAt(d: BlockDevice, n: number, crash = false): BlockDevice {
  let count = 0
  const step = () => {
    if (++count !== n) return
    if (crash) throw new SimulatedCrash(`crash at write ${n} of the repair (injected)`)
    throw fail('ENOSPC', `write ${n} of the repair failed (injected)`)
  }
  return {
    get size() {
      return d.size
    },
    read: (p, l) => d.read(p, l),
    write: (p, b) => (step(), d.write(p, b)),
    flush: () => d.flush(),
    resize: (s) => (step(), d.resize(s)),
    close: () => d.close(),
  }
}

/** `fsck --undo FILE IMAGE`: put back what a repair overwrote. */
export function revertRepair(undoFile: string, path: string): {blocks: number} {
  if (!fs.existsSync(undoFile)) throw fail('ENOENT', `undo file ${undoFile} does not exist`)
  const release = acquireWriterLock(path)
  try {
    const {blocks} = applyUndo(undoFile, path)
    endUndo(undoFile)
    return {blocks}
  } finally {
    release()
  }
}

export {RazorError}
