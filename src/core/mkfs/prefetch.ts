/**
 * Reading a host tree ahead of populate: the same walk (directories depth
 * first, names in byte order, exclusions, one name per hard-linked inode),
 * so the files populate is about to copy are already read and being
 * compressed by the workers when it gets to them. If the tree changes under
 * us and the prediction misses, populate's file is simply read on the spot.
 */
import fs from 'node:fs'
import {fileTypeOfMode} from '../fs/inode-table.js'
import type {FileType} from '../types.js'
import {AHEAD_BYTES, type DataPipeline, type FileHandle} from './pipeline.js'

interface Ahead {
  path: Buffer
  handle?: FileHandle
  error?: Error
}

const SLASH = Buffer.from('/')

/** Regular files with content under `root`, in populate's order. */
function* regularFiles(root: string, exclude?: (rel: Buffer, type: FileType) => boolean): Generator<Buffer> {
  const seen = new Set<string>()
  function* visit(dir: Buffer, rel: Buffer): Generator<Buffer> {
    let names: Buffer[]
    try {
      names = fs.readdirSync(dir, {encoding: 'buffer'})
    } catch {
      return
    }
    names.sort(Buffer.compare)
    for (const name of names) {
      const src = Buffer.concat([dir, SLASH, name])
      let st: fs.BigIntStats
      try {
        st = fs.lstatSync(src, {bigint: true})
      } catch {
        continue
      }
      const entryRel = rel.length ? Buffer.concat([rel, SLASH, name]) : name
      const type = fileTypeOfMode(Number(st.mode))
      if (!type || exclude?.(entryRel, type)) continue
      if (type === 'dir') yield* visit(src, entryRel)
      else if (type === 'file' && st.size > 0n) {
        if (st.nlink > 1n) {
          const key = `${st.dev}:${st.ino}`
          if (seen.has(key)) continue
          seen.add(key)
        }
        yield src
      }
    }
  }
  yield* visit(Buffer.from(root), Buffer.alloc(0))
}

export class Prefetcher {
  private readonly queue: Ahead[] = []
  private readonly files: Generator<Buffer>
  private ended = false
  /** Files read ahead that populate did not ask for (the tree changed). */
  missed = 0

  constructor(
    root: string,
    exclude: ((rel: Buffer, type: FileType) => boolean) | undefined,
    private readonly pipe: DataPipeline,
  ) {
    this.files = regularFiles(root, exclude)
  }

  /** Read ahead until AHEAD_BYTES are queued or the walk ends. */
  private fill(): void {
    while (!this.ended && this.pipe.pendingBytes < AHEAD_BYTES) {
      const next = this.files.next()
      if (next.done) {
        this.ended = true
        break
      }
      const a: Ahead = {path: next.value}
      try {
        const fd = fs.openSync(next.value, 'r')
        try {
          this.pipe.begin()
          this.pipe.readFd(fd)
          a.handle = this.pipe.end()
        } finally {
          fs.closeSync(fd)
        }
      } catch (e) {
        this.pipe.abort()
        a.error = e as Error
      }
      this.queue.push(a)
    }
  }

  /**
   * The content of `src`, which populate is about to copy: read ahead if it
   * was predicted (then the read error, if any, is thrown now), or
   * undefined when it was not.
   */
  take(src: Buffer): FileHandle | undefined {
    this.fill()
    const at = this.queue.findIndex((a) => a.path.equals(src))
    if (at < 0) return undefined
    for (const a of this.queue.splice(0, at)) {
      if (a.handle) this.pipe.dropFile(a.handle)
      this.missed++
    }
    const a = this.queue.shift()!
    if (a.error) throw a.error
    return a.handle
  }

  /** Release whatever was read ahead and not asked for. */
  close(): void {
    for (const a of this.queue.splice(0)) if (a.handle) this.pipe.dropFile(a.handle)
  }
}
