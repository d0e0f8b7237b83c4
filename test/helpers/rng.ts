/**
 * Deterministic pseudo-random source for the test-tree generators: an
 * AES-256-CTR keystream keyed by SHA-256 of the seed. Fast enough to produce
 * hundreds of MiB of incompressible bytes, and the same seed always gives the
 * same sequence of draws.
 */
import crypto from 'node:crypto'

const POOL = 64 * 1024

export class Rng {
  private cipher: crypto.Cipher
  private pool = Buffer.alloc(0)
  private pos = 0

  constructor(seed: string) {
    const key = crypto.createHash('sha256').update(`razorfs-test-rng:${seed}`).digest()
    this.cipher = crypto.createCipheriv('aes-256-ctr', key, Buffer.alloc(16))
  }

  /** n random bytes. */
  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n)
    let done = 0
    while (done < n) {
      if (this.pos >= this.pool.length) {
        this.pool = this.cipher.update(Buffer.alloc(POOL))
        this.pos = 0
      }
      const take = Math.min(n - done, this.pool.length - this.pos)
      this.pool.copy(out, done, this.pos, this.pos + take)
      this.pos += take
      done += take
    }
    return out
  }

  u32(): number {
    return this.bytes(4).readUInt32LE(0)
  }

  /** A float in [0, 1). */
  float(): number {
    return this.u32() / 2 ** 32
  }

  /** An integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1))
  }

  chance(p: number): boolean {
    return this.float() < p
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]
  }

  /** Fork an independent stream (so adding draws in one place does not shift another). */
  fork(label: string): Rng {
    return new Rng(`${this.bytes(16).toString('hex')}:${label}`)
  }
}

const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an they ' +
  'you were her all she there would their we him been has when who will more no if out so said what up its about ' +
  'into than them can only other new some could time these two may then do first any my now such like our over ' +
  'block inode extent cluster superblock bitmap journal directory symlink checksum razorfs image tree leaf node ' +
  'compression zstd sparse hole allocation metadata generation filesystem kernel mount device sector offset'
).split(' ')

/** Compressible English-like text of exactly n bytes. */
export function text(rng: Rng, n: number): Buffer {
  const parts: string[] = []
  let len = 0
  let line = 0
  while (len < n) {
    const w = rng.pick(WORDS)
    const sep = ++line % 12 === 0 ? '.\n' : ' '
    parts.push(w, sep)
    len += w.length + sep.length
  }
  return Buffer.from(parts.join(''), 'latin1').subarray(0, n)
}
