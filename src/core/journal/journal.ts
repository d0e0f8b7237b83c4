/**
 * The write-ahead journal (FORMAT.md §9): a circular log of transactions,
 * each a set of whole metadata blocks followed by a commit block. A commit is
 * durable when `write` returns; the copies are then written home, and a
 * checkpoint (fsync, then moving the superblock's journal head) frees the
 * log space. Recovery scans from the head and redoes every transaction whose
 * descriptors, payloads and commit all verify, stopping at the first that
 * does not (a torn or half-written transaction is discarded); committed work
 * is never undone (see `scan` for data blocks that fail their CRC).
 */
import type {BlockDevice} from '../io/device.js'
import {crc32} from '../format/checksum.js'
import {RangeDecodeError} from '../format/codec.js'
import type {Geometry} from '../format/geometry.js'
import {blockHeader, blockProblem, HEADER_SIZE, sealBlock} from '../format/header.js'
import {
  commitBody,
  descriptorCapacity,
  descriptorHead,
  DESCRIPTOR_DATA_CHECKS,
  JournalBlockType,
  readDescriptorEntries,
  writeDescriptorEntries,
  type CommitFields,
  type DescriptorEntry,
} from '../format/journal.js'
import {fail} from '../errors.js'

/** Payload bytes recovery keeps in memory between deciding and redoing; beyond, it reads the log twice. */
const KEEP_PAYLOAD_BYTES = 64 << 20

export type TxState = 'committed' | 'incomplete' | 'corrupt'

export interface JournalTx {
  seq: number
  /** Position of its first block, relative to the journal start. */
  start: number
  /** Journal blocks it occupies (descriptors, payloads, commit). */
  length: number
  state: TxState
  /** Why an incomplete or corrupt transaction stopped the scan. */
  reason?: string
  /** Home blocks it writes, in order. */
  targets: number[]
  commit?: CommitFields
  /**
   * Committed transactions only: data blocks it lists (descriptor flags bit 0)
   * that fail their CRC — file data damaged after the commit was durable.
   * The transaction is redone; the blocks are reported.
   */
  damaged?: number[]
}

export interface ScanResult {
  /** Committed transactions, then at most one that is incomplete or corrupt. */
  transactions: JournalTx[]
  /** Position after the last committed transaction. */
  end: number
  /** Sequence number the next transaction gets. */
  nextSeq: number
}

export interface MetaBlock {
  block: number
  data: Buffer
}

export class Journal {
  /** Relative position of the oldest live block; `used` blocks follow it. */
  head: number
  used = 0
  seq: number
  readonly size: number
  private readonly bs: number

  constructor(
    private readonly dev: BlockDevice,
    private readonly geo: Geometry,
    private readonly uuid: Buffer,
    head: number,
    seq: number,
  ) {
    this.size = geo.journalBlocks
    this.bs = geo.blockSize
    this.head = head % this.size
    this.seq = seq
  }

  private abs(pos: number): number {
    return this.geo.journalStart + (pos % this.size)
  }

  private readAt(pos: number): Buffer {
    return this.dev.read(this.abs(pos) * this.bs, this.bs)
  }

  /** Whether the block at `pos` is a journal block of `type` for transaction `seq`. */
  private parse(buf: Buffer, pos: number, type: number, seq: number): boolean {
    if (blockProblem(buf, {blocknr: this.abs(pos), uuid: this.uuid, type: type as 5 | 6})) return false
    try {
      return (
        (type === JournalBlockType.DESCRIPTOR
          ? descriptorHead.decode(buf, HEADER_SIZE).seq
          : commitBody.decode(buf, HEADER_SIZE).seq) === seq
      )
    } catch (e) {
      if (e instanceof RangeDecodeError) return false
      throw e
    }
  }

  /**
   * Walk the log from the head (FORMAT.md §9, recovery). `onTx` receives each
   * committed transaction with its payloads, in order, once it is known to be
   * committed.
   *
   * A transaction is committed when its descriptors, payloads and commit
   * block verify. The data blocks it lists (descriptor flags bit 0) are then
   * checked against their CRCs: a mismatch in a transaction that is not the
   * last one in the log, or whose home writes have begun, is damaged file
   * data written by committed work — the transaction is redone all the same
   * and the block reported in `damaged`. Only at the very end of the log,
   * with nothing after it and none of its home blocks written, does a data
   * mismatch mean the crash came before the commit's fsync: that
   * transaction was never acknowledged and is discarded.
   */
  scan(onTx?: (tx: JournalTx, payloads: MetaBlock[]) => void): ScanResult {
    // decide first, writing nothing (whether a transaction's home writes began is read before any redo
    // writes over them), then walk again handing the committed transactions over
    if (!onTx) return this.walk()
    // the payloads of the first walk are kept while they are few (a default journal holds at most 128 MiB)
    let kept: Array<[JournalTx, MetaBlock[]]> | undefined = []
    let bytes = 0
    const plan = this.walk((tx, payloads) => {
      if (!kept) return
      bytes += payloads.length * this.bs
      if (bytes > KEEP_PAYLOAD_BYTES) kept = undefined
      else kept.push([tx, payloads])
    })
    if (!kept) return this.walk(onTx, plan)
    for (const [tx, payloads] of kept) onTx(tx, payloads)
    return plan
  }

  private walk(onTx?: (tx: JournalTx, payloads: MetaBlock[]) => void, plan?: ScanResult): ScanResult {
    const transactions: JournalTx[] = []
    let pos = this.head
    let seq = this.seq
    const limit = this.head + this.size
    /** The last committed transaction, held back until we know whether it ends the log. */
    let held: {tx: JournalTx; payloads: MetaBlock[]; pos: number; homeWritten: boolean} | undefined
    while (pos < limit) {
      const first = this.readAt(pos)
      if (!this.parse(first, pos, JournalBlockType.DESCRIPTOR, seq)) break
      const tx: JournalTx = {seq, start: pos % this.size, length: 0, state: 'incomplete', targets: []}
      const payloads: MetaBlock[] = []
      /** Listed data blocks and their CRCs (the last listing of a block wins). */
      const checks = new Map<number, number>()
      let p = pos
      let desc: Buffer | undefined = first
      for (;;) {
        const {count, flags} = descriptorHead.decode(desc, HEADER_SIZE)
        const checksOnly = (flags & DESCRIPTOR_DATA_CHECKS) !== 0
        if (count > descriptorCapacity(this.bs) || p + 1 + (checksOnly ? 0 : count) >= limit) {
          tx.state = 'corrupt'
          tx.reason = `descriptor at ${p % this.size} lists ${count} blocks`
          break
        }
        let entries: DescriptorEntry[]
        try {
          entries = readDescriptorEntries(desc, count)
        } catch {
          tx.state = 'corrupt'
          tx.reason = 'descriptor entry out of range'
          break
        }
        p++
        if (checksOnly && entries.some((e) => e.target >= this.geo.blockCount)) {
          tx.state = 'corrupt'
          tx.reason = `descriptor at ${(p - 1) % this.size} lists a data block past the end of the image`
          break
        }
        if (checksOnly) for (const e of entries) checks.set(e.target, e.crc)
        let torn = false
        for (const e of checksOnly ? [] : entries) {
          const data = this.readAt(p)
          if (crc32(data) !== e.crc || e.target >= this.geo.blockCount) {
            torn = true
            tx.reason = `payload for block ${e.target} at ${p % this.size} does not match its checksum`
            break
          }
          tx.targets.push(e.target)
          payloads.push({block: e.target, data})
          p++
        }
        if (torn) {
          tx.state = 'incomplete'
          break
        }
        const next = this.readAt(p)
        if (this.parse(next, p, JournalBlockType.COMMIT, seq)) {
          tx.commit = commitBody.decode(next, HEADER_SIZE)
          tx.state = 'committed'
          p++
          break
        }
        if (this.parse(next, p, JournalBlockType.DESCRIPTOR, seq)) {
          desc = next
          continue
        }
        tx.reason = `no commit block at ${p % this.size}`
        break
      }
      tx.length = p - pos
      transactions.push(tx)
      let homeWritten = false
      if (tx.state === 'committed') {
        const damaged = [...checks]
          .filter(([b, crc]) => crc32(this.dev.read(b * this.bs, this.bs)) !== crc)
          .map(([b]) => b)
        if (damaged.length) tx.damaged = damaged.sort((a, b) => a - b)
        // whether its home writes (which follow the commit's fsync) began; read before earlier transactions are redone over them
        if (damaged.length && !plan)
          homeWritten = payloads.some((b) => this.dev.read(b.block * this.bs, this.bs).equals(b.data))
      }
      // something follows the held transaction: it was durable
      if (held) onTx?.(held.tx, held.payloads)
      held = undefined
      if (tx.state !== 'committed') {
        break
      }
      held = {tx, payloads, pos, homeWritten}
      pos = p
      seq++
    }
    if (held) {
      const {tx, payloads} = held
      // the end of the log: a listed data block that does not match, and no sign the commit was durable
      const durable = plan
        ? plan.transactions.find((x) => x.seq === tx.seq)?.state === 'committed'
        : !tx.damaged || held.homeWritten
      if (durable) onTx?.(tx, payloads)
      else {
        tx.state = 'incomplete'
        tx.reason = `data block ${tx.damaged![0]} does not match its checksum and nothing after the commit reached the disk (written after the crash point)`
        delete tx.damaged
        pos = held.pos
        seq = tx.seq
      }
    }
    return {transactions, end: pos % this.size, nextSeq: seq}
  }

  /** Journal blocks a transaction of `n` metadata blocks (and `checks` listed data blocks) needs. */
  cost(n: number, checks = 0): number {
    return (
      Math.max(1, Math.ceil(n / descriptorCapacity(this.bs))) + n + 1 + Math.ceil(checks / descriptorCapacity(this.bs))
    )
  }

  get free(): number {
    return this.size - this.used
  }

  /**
   * Log one transaction durably. `data` is how the new data blocks it points
   * at are protected: listed with their CRCs (recovery checks them), so
   * everything is written and then fsynced once; or, with 'ordered' (too many
   * to list), descriptors and payloads, fsync (which makes the data durable
   * too), then the commit block, fsync. A commit that reaches the disk before
   * a payload or a listed data block is caught by that block's CRC, and the
   * transaction, not yet acknowledged, is discarded.
   */
  write(
    blocks: readonly MetaBlock[],
    fields: Omit<CommitFields, 'seq' | 'blocks' | 'flags'>,
    data: readonly DescriptorEntry[] | 'ordered' = 'ordered',
  ): void {
    const checks = data === 'ordered' ? [] : data
    const cap = descriptorCapacity(this.bs)
    const need = this.cost(blocks.length, checks.length)
    if (need > this.free)
      throw fail('ENOSPC', `transaction of ${need} journal blocks does not fit in the ${this.free} free`)
    const out: Buffer[] = []
    const start = this.head + this.used
    for (let i = 0; i < checks.length; i += cap) {
      const chunk = checks.slice(i, i + cap)
      const d = Buffer.alloc(this.bs)
      descriptorHead.encode({seq: this.seq, count: chunk.length, flags: DESCRIPTOR_DATA_CHECKS}, d, HEADER_SIZE)
      writeDescriptorEntries(d, chunk)
      sealBlock(d, {
        type: JournalBlockType.DESCRIPTOR,
        level: 0,
        blocknr: this.abs(start + out.length),
        uuid: this.uuid,
        generation: fields.generation,
      })
      out.push(d)
    }
    for (let i = 0; i < Math.max(1, blocks.length); i += cap) {
      const chunk = blocks.slice(i, i + cap)
      const d = Buffer.alloc(this.bs)
      descriptorHead.encode({seq: this.seq, count: chunk.length, flags: 0}, d, HEADER_SIZE)
      writeDescriptorEntries(
        d,
        chunk.map((b) => ({target: b.block, crc: crc32(b.data)})),
      )
      sealBlock(d, {
        type: JournalBlockType.DESCRIPTOR,
        level: 0,
        blocknr: this.abs(start + out.length),
        uuid: this.uuid,
        generation: fields.generation,
      })
      out.push(d)
      for (const b of chunk) out.push(b.data)
    }
    this.writeRun(start, out)
    if (data === 'ordered') this.dev.flush()
    const c = Buffer.alloc(this.bs)
    commitBody.encode({...fields, seq: this.seq, blocks: need, flags: 0}, c, HEADER_SIZE)
    sealBlock(c, {
      type: JournalBlockType.COMMIT,
      level: 0,
      blocknr: this.abs(start + out.length),
      uuid: this.uuid,
      generation: fields.generation,
    })
    this.writeRun(start + out.length, [c])
    this.dev.flush()
    this.used += need
    this.seq++
  }

  /** Write consecutive journal blocks, in one write per contiguous piece. */
  private writeRun(pos: number, blocks: Buffer[]): void {
    let i = 0
    while (i < blocks.length) {
      const rel = (pos + i) % this.size
      const n = Math.min(blocks.length - i, this.size - rel)
      const piece = blocks.slice(i, i + n)
      this.dev.write(this.abs(rel) * this.bs, piece.length === 1 ? piece[0]! : Buffer.concat(piece))
      i += n
    }
  }

  /** After a checkpoint: everything logged is home, the log is empty. */
  emptied(): void {
    this.head = (this.head + this.used) % this.size
    this.used = 0
  }
}

/** Names of the metadata kinds in a list of payloads (for `journal show`). */
export function payloadKind(data: Buffer): string {
  try {
    const h = blockHeader.decode(data)
    return {1: 'superblock', 2: 'bitmap', 3: 'leaf', 4: 'node'}[h.type] ?? `type ${h.type}`
  } catch {
    return 'unknown'
  }
}
