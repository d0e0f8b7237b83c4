/**
 * Preallocation (fallocate mode 0, KEEP_SIZE and ZERO_RANGE) while an image
 * is open. RAZORFS never overwrites file data in place, so space cannot be
 * handed to a file ahead of its data as ext4's unwritten extents do; instead
 * the free blocks a range will need are held back: every cluster window of
 * a preallocated range that holds no data reserves a whole cluster of blocks
 * (its largest uncompressed size), plus one allowance per file for the
 * windows at both ends and the tree (what Image.write asks for beyond the
 * data). Other operations may not use held-back blocks; a write into a
 * reserved window may use that window's share and its file's allowance, and
 * once the window holds data its reservation ends (the first write into
 * each preallocated window is guaranteed, as btrfs guarantees it; later
 * rewrites are copy-on-write like any others). Punching a whole window,
 * truncating below it and deleting the file end its reservation.
 *
 * Reservations live in memory only: nothing is written to the image (no
 * format change), so they last until the image is closed (for a mount: until
 * it is unmounted). Free-space figures (Image.info().freeBlocks, statfs)
 * leave them out and a file's allocated size includes its own.
 */
export class Preallocations {
  /** Reserved cluster window indexes per inode (windows without data). */
  private readonly byIno = new Map<number, Set<number>>()
  private count = 0

  constructor(
    /** Blocks reserved per cluster window. */
    readonly perCluster: number,
    /** Blocks reserved per inode that has any reservation. */
    readonly perFile: number,
  ) {}

  /** Blocks held back from every operation but those on the reserved windows. */
  get held(): number {
    return this.count * this.perCluster + this.byIno.size * this.perFile
  }

  has(ino: number): boolean {
    return this.byIno.has(ino)
  }

  /** Number of reserved windows of an inode. */
  windows(ino: number): number {
    return this.byIno.get(ino)?.size ?? 0
  }

  isReserved(ino: number, idx: number): boolean {
    return this.byIno.get(ino)?.has(idx) ?? false
  }

  /** Number of reserved windows of `ino` in [first, last]. */
  reservedIn(ino: number, first: number, last: number): number {
    const s = this.byIno.get(ino)
    if (!s) return 0
    let n = 0
    if (last - first < s.size) {
      for (let i = first; i <= last; i++) if (s.has(i)) n++
    } else for (const i of s) if (i >= first && i <= last) n++
    return n
  }

  /** Blocks an operation on windows [first, last] of `ino` may use from what is held back. */
  usable(ino: number, first: number, last: number): number {
    if (!this.byIno.has(ino)) return 0
    return this.reservedIn(ino, first, last) * this.perCluster + this.perFile
  }

  add(ino: number, idxs: Iterable<number>): void {
    let s = this.byIno.get(ino)
    for (const i of idxs) {
      if (!s) this.byIno.set(ino, (s = new Set()))
      if (!s.has(i)) {
        s.add(i)
        this.count++
      }
    }
  }

  /** End the reservation of the windows of `ino` for which `gone(idx)` holds. */
  drop(ino: number, gone: (idx: number) => boolean): void {
    const s = this.byIno.get(ino)
    if (!s) return
    for (const i of [...s]) {
      if (gone(i)) {
        s.delete(i)
        this.count--
      }
    }
    if (s.size === 0) this.byIno.delete(ino)
  }

  /** Every reservation of an inode ends (it was deleted). */
  forget(ino: number): void {
    const s = this.byIno.get(ino)
    if (!s) return
    this.count -= s.size
    this.byIno.delete(ino)
  }
}
