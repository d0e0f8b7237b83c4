/**
 * What `razorfs journal show` and `razorfs journal replay` do, as library
 * calls: read the log without replaying it, replay it in place, into a copy,
 * or not at all (a dry run listing what would be written).
 */
import fs from 'node:fs'
import {FileDevice} from '../io/device.js'
import {fail} from '../errors.js'
import {hasFeature} from '../format/features.js'
import {Image, type RecoveryReport} from './image.js'
import {Journal, payloadKind, type JournalTx} from '../journal/journal.js'
import type {DamagedData} from './damage.js'
import {loadSuperblock} from './superblock.js'

export interface JournalTxReport extends Omit<JournalTx, 'targets' | 'commit'> {
  /** Home blocks the transaction writes, with the kind of metadata each holds. */
  blocks: Array<{block: number; kind: string}>
}

export interface JournalReport {
  /** Journal length in blocks (0: the image has no journal). */
  size: number
  head: number
  seq: number
  needsRecovery: boolean
  transactions: JournalTxReport[]
  /**
   * Data blocks committed transactions list that fail their CRC, and what
   * each holds (recovery redoes those transactions and keeps the data as it is).
   */
  damaged?: DamagedData[]
}

/** Read an image's journal without changing anything. */
export function inspectJournal(path: string): JournalReport {
  const dev = FileDevice.open(path, true)
  try {
    const {sb, geo, uuid} = loadSuperblock(dev, path)
    const needsRecovery = hasFeature(sb.incompat, 'needs_recovery')
    const report: JournalReport = {
      size: geo.journalBlocks,
      head: sb.journalHead,
      seq: sb.journalSeq,
      needsRecovery,
      transactions: [],
    }
    if (!geo.journalBlocks) return report
    const j = new Journal(dev, geo, uuid, sb.journalHead, sb.journalSeq)
    const kinds = new Map<number, Map<number, string>>()
    const scan = j.scan((tx, payloads) =>
      kinds.set(tx.seq, new Map(payloads.map((p) => [p.block, payloadKind(p.data)]))),
    )
    report.transactions = scan.transactions.map(({targets, commit: _c, ...tx}) => ({
      ...tx,
      blocks: targets.map((b) => ({block: b, kind: kinds.get(tx.seq)?.get(b) ?? 'unknown'})),
    }))
    if (needsRecovery && report.transactions.some((t) => t.damaged?.length)) {
      // what the damaged blocks hold: the image as recovery leaves it, replayed in memory
      const img = Image.openDevice(path, dev, {readOnly: true})
      report.damaged = img.recovery?.damaged
    }
    return report
  } finally {
    dev.close()
  }
}

export interface ReplayOptions {
  /** Replay into this new file and leave the original untouched. */
  output?: string
  /** Replace `output` if it exists. */
  force?: boolean
  /** Only report what replay would write. */
  dryRun?: boolean
}

export interface ReplayResult extends RecoveryReport {
  /** The image that was (or would be) written. */
  image: string
  dryRun: boolean
  /** With dryRun: each transaction and the blocks it would write. */
  plan?: JournalTxReport[]
}

/** Copy an image file keeping it sparse: all-zero MiB runs stay holes. */
export function copyImageSparse(from: string, to: string, force: boolean): void {
  if (fs.existsSync(to) && !force) throw fail('EEXIST', `${to} exists; use --force to replace it`, {path: to})
  const src = fs.openSync(from, 'r')
  const dst = fs.openSync(to, 'w')
  try {
    const size = fs.fstatSync(src).size
    const buf = Buffer.alloc(1 << 20)
    const zero = Buffer.alloc(1 << 20)
    for (let off = 0; off < size; off += buf.length) {
      const n = fs.readSync(src, buf, 0, Math.min(buf.length, size - off), off)
      if (!buf.subarray(0, n).equals(zero.subarray(0, n))) fs.writeSync(dst, buf, 0, n, off)
    }
    fs.ftruncateSync(dst, size)
    fs.fsyncSync(dst)
  } finally {
    fs.closeSync(src)
    fs.closeSync(dst)
  }
}

/** Recover an image explicitly: what every read-write open does, reported. */
export function replayJournal(path: string, opts: ReplayOptions = {}): ReplayResult {
  if (opts.dryRun) {
    const r = inspectJournal(path)
    const committed = r.transactions.filter((t) => t.state === 'committed')
    const bad = r.transactions.find((t) => t.state !== 'committed')
    return {
      image: opts.output ?? path,
      dryRun: true,
      transactions: r.needsRecovery ? committed.length : 0,
      blocks: r.needsRecovery ? committed.reduce((n, t) => n + t.blocks.length, 0) : 0,
      discarded: r.needsRecovery && bad ? {seq: bad.seq, state: bad.state, reason: bad.reason ?? ''} : undefined,
      damaged: r.damaged,
      plan: r.needsRecovery ? committed : [],
    }
  }
  const target = opts.output ?? path
  if (opts.output) {
    const probe = FileDevice.open(path, true)
    try {
      loadSuperblock(probe, path) // refuse a non-image before copying it
    } finally {
      probe.close()
    }
    copyImageSparse(path, opts.output, opts.force ?? false)
  }
  const img = Image.open(target, {readOnly: false})
  const rec = img.recovery ?? {transactions: 0, blocks: 0}
  img.close()
  return {...rec, image: target, dryRun: false}
}
