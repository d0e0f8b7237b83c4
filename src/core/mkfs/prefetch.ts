/**
 * Reading a host tree ahead of populate: the same walk (tree-walk.ts:
 * directories depth first, names in byte order, exclusions, one name per
 * hard-linked inode), so the files populate is about to copy are already
 * read and being compressed by the workers when it gets to them. If the tree changes under
 * us and the prediction misses, populate's file is simply read on the spot.
 */
import fs from 'node:fs'
import {walkTree, type TreeExclude} from '../host/tree-walk.js'
import {AHEAD_BYTES, type DataPipeline, type FileHandle} from './pipeline.js'

interface Ahead {
  path: Buffer
  handle?: FileHandle
  error?: Error
}

/** Regular files with content under `root`, in populate's order (one name per hard-linked inode). */
function* regularFiles(root: string, exclude?: TreeExclude): Generator<Buffer> {
  for (const e of walkTree(root, exclude)) if (e.type === 'file' && !e.link && e.st.size > 0n) yield e.path
}

export class Prefetcher {
  private readonly queue: Ahead[] = []
  private readonly files: Generator<Buffer>
  private ended = false
  /** Files read ahead that populate did not ask for (the tree changed). */
  missed = 0

  constructor(
    root: string,
    exclude: TreeExclude | undefined,
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
