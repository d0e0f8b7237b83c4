/**
 * The Image: one open RAZORFS image and every operation on it, as methods.
 * This class is a facade: the state of the open image is an ImageState
 * (state.ts) and each concept has its module, e2fsprogs-style —
 * open.ts (open, create, recovery, close), transaction.ts (commit,
 * checkpoint, space reservation), namei.ts (names to inodes), namespace.ts
 * (create, link, unlink, rename), unlinked.ts (freeing inodes, orphans,
 * holds), file-io.ts (read, write, truncate, fallocate), attributes.ts
 * (stat, setattr, xattrs), pack-store.ts (mkfs packs), info.ts (info,
 * stats, fitToContents). check() is added by check/image-check.ts.
 */
import type {PlanSettings, WindowPlan} from '../fs/data-plan.js'
import type {Volume} from '../fs/volume.js'
import type {BlockDevice} from '../io/device.js'
import type {
  CreateOptions,
  DirEntry,
  ExtentInfo,
  ImageStats,
  InodeAttrs,
  OpenOptions,
  PackSlice,
  Stat,
  Timespec,
} from '../types.js'
import * as attributes from './attributes.js'
import type {NormalizedCreate} from './create-options.js'
import * as fileIo from './file-io.js'
import * as info from './info.js'
import * as namei from './namei.js'
import * as namespace from './namespace.js'
import * as open from './open.js'
import * as packStore from './pack-store.js'
import type {ImageState} from './state.js'
import * as transaction from './transaction.js'
import * as unlinked from './unlinked.js'

export type {RecoveryReport} from './open.js'
export type {FeatureSet, ImageInfo} from './info.js'

export class Image {
  readonly path: string
  readonly readOnly: boolean
  /** What recovery did when the image was opened (undefined when nothing was needed). */
  recovery?: open.RecoveryReport

  private constructor(private readonly s: ImageState) {
    this.path = s.path
    this.readOnly = s.readOnly
    this.recovery = s.recovery
  }

  /** Create a new image file and return it open read-write with an empty root directory. */
  static create(path: string, opts: CreateOptions): Image {
    return new Image(open.createImage(path, opts))
  }

  /** Format a device (already sized or resizable) and return the image open read-write. */
  static format(
    path: string,
    dev: BlockDevice,
    o: NormalizedCreate,
    mode: {clock?: () => Timespec; bulk?: boolean} = {},
  ): Image {
    return new Image(open.formatImage(path, dev, o, mode))
  }

  /** Open an existing image. Read-only unless `readOnly: false`. */
  static open(path: string, opts: OpenOptions = {}): Image {
    return new Image(open.openImage(path, opts))
  }

  /** Open an image on any block device (tests wrap devices to record and crash them). */
  static openDevice(name: string, dev: BlockDevice, opts: OpenOptions = {}): Image {
    return new Image(open.openDevice(name, dev, opts))
  }

  /** The shared state under this image (tests reach it as `v`). */
  private get v(): Volume {
    return this.s.v
  }

  /** The shared state under this image, for fsck's repair code. @internal */
  get volume(): Volume {
    return this.s.v
  }

  /** The shared state under this image, which must be open (check/image-check.ts adds check() with it). @internal */
  openVolume(): Volume {
    this.s.assertOpen()
    return this.s.v
  }

  // ---- transactions, open and close ----------------------------------------

  /** Whether anything changed since the last commit (flush() has something to do). */
  get uncommitted(): boolean {
    return transaction.uncommitted(this.s)
  }

  /** Number of journal commits since open (diagnostics and benchmarks). */
  get commitCount(): number {
    return this.s.commits
  }

  /** Commit everything so far; when this returns it survives a crash. */
  flush(): void {
    transaction.flush(this.s)
  }

  /** Commit, checkpoint, mark the image clean (both superblocks) and close the file. Safe to call twice. */
  close(): void {
    open.closeImage(this.s)
  }

  /** Abandon the image without writing anything more (what a crash does; for tests). */
  abandon(): void {
    open.abandonImage(this.s)
  }

  // ---- the image as a whole -------------------------------------------------

  /** Shrink a bulk build to its contents plus `headroomBlocks` (see info.ts). */
  fitToContents(headroomBlocks = 0): {blocks: number; usedBlocks: number} {
    return info.fitToContents(this.s, headroomBlocks)
  }

  info(): info.ImageInfo {
    return info.info(this.s)
  }

  /** Walks the whole tree: inodes, logical data bytes and the space storing them. */
  stats(): ImageStats {
    return info.stats(this.s)
  }

  // ---- names ----------------------------------------------------------------

  lookup(dir: number, name: string | Buffer): number | undefined {
    return namei.lookup(this.s, dir, name)
  }

  /** Inode number of a path ('/'-separated, from the root); a final symlink is followed only with `follow`. */
  resolve(path: string | Buffer, opts: {follow?: boolean} = {}): number {
    return namei.resolve(this.s, path, opts)
  }

  /** Entries of a directory (not '.' and '..'), in hash order. */
  readdir(dir: number): DirEntry[] {
    return namei.readdir(this.s, dir)
  }

  /** Create a file, device node, fifo or socket (by the type bits of mode; none means a regular file). */
  create(dir: number, name: string | Buffer, attrs: InodeAttrs): number {
    return namespace.create(this.s, dir, name, attrs)
  }

  mkdir(dir: number, name: string | Buffer, attrs: InodeAttrs): number {
    return namespace.mkdir(this.s, dir, name, attrs)
  }

  symlink(dir: number, name: string | Buffer, target: string | Buffer, attrs: InodeAttrs): number {
    return namespace.symlink(this.s, dir, name, target, attrs)
  }

  link(ino: number, dir: number, name: string | Buffer): void {
    namespace.link(this.s, ino, dir, name)
  }

  unlink(dir: number, name: string | Buffer): void {
    namespace.unlink(this.s, dir, name)
  }

  rmdir(dir: number, name: string | Buffer): void {
    namespace.rmdir(this.s, dir, name)
  }

  rename(dir: number, name: string | Buffer, newDir: number, newName: string | Buffer): void {
    namespace.rename(this.s, dir, name, newDir, newName)
  }

  /** Keep an inode alive while it is open (FUSE open files); see unlinked.ts. */
  hold(ino: number): void {
    unlinked.hold(this.s, ino)
  }

  /** Drop one hold(); the last one frees the inode if it has no name left. */
  release(ino: number): void {
    unlinked.release(this.s, ino)
  }

  // ---- file data ------------------------------------------------------------

  read(ino: number, offset: number, length: number): Buffer {
    return fileIo.read(this.s, ino, offset, length)
  }

  readFile(ino: number): Buffer {
    return fileIo.readFile(this.s, ino)
  }

  readlink(ino: number): Buffer {
    return fileIo.readlink(this.s, ino)
  }

  extents(ino: number): ExtentInfo[] {
    return fileIo.extents(this.s, ino)
  }

  /** The extents of a file that end after `from`, in order, at most `max` of them (see file-io.ts). */
  mappedRanges(ino: number, from = 0, max = 1024): ExtentInfo[] {
    return fileIo.mappedRanges(this.s, ino, from, max)
  }

  write(ino: number, offset: number, data: Buffer): void {
    fileIo.write(this.s, ino, offset, data)
  }

  truncate(ino: number, size: number): void {
    fileIo.truncate(this.s, ino, size)
  }

  /** Turn a byte range into a hole (fallocate PUNCH_HOLE|KEEP_SIZE). */
  punchHole(ino: number, offset: number, length: number): void {
    fileIo.punchHole(this.s, ino, offset, length)
  }

  /** fallocate(2) with ext4's results (`mode`: FALLOC_FL_* bits); see file-io.ts. */
  fallocate(ino: number, offset: number, length: number, mode = 0): void {
    fileIo.fallocate(this.s, ino, offset, length, mode)
  }

  /** How data of a new file is planned: the image's compression (see data-plan.ts). */
  defaultPlanSettings(): PlanSettings {
    return fileIo.defaultPlanSettings(this.s)
  }

  /** How file data of an inode is planned (compression on, level, block size): see data-plan.ts. */
  planSettings(ino: number): PlanSettings {
    return fileIo.planSettings(this.s, ino)
  }

  /** Store one cluster window of a regular file from a plan made ahead (see file-io.ts). */
  writePrepared(ino: number, offset: number, content: Buffer, plan: WindowPlan): void {
    fileIo.writePrepared(this.s, ino, offset, content, plan)
  }

  /** mkfs: store a pack and make each slice the packed last extent of its file (see pack-store.ts). */
  storePack(raw: Buffer, stored: Buffer, compression: number, crc: number, slices: PackSlice[]): number | undefined {
    return packStore.storePack(this.s, raw, stored, compression, crc, slices)
  }

  /** mkfs: make `slice` a packed extent of the existing pack at `block` (see pack-store.ts). */
  sharePack(block: number, slice: PackSlice, bytes: Buffer): boolean {
    return packStore.sharePack(this.s, block, slice, bytes)
  }

  // ---- attributes -----------------------------------------------------------

  stat(ino: number): Stat {
    return attributes.stat(this.s, ino)
  }

  /** Change mode (permission bits), owner, flags or times. ctime becomes now unless given. */
  setattr(ino: number, attrs: InodeAttrs): void {
    attributes.setattr(this.s, ino, attrs)
  }

  listXattrs(ino: number): string[] {
    return attributes.listXattrs(this.s, ino)
  }

  getXattr(ino: number, name: string): Buffer {
    return attributes.getXattr(this.s, ino, name)
  }

  setXattr(ino: number, name: string, value: Buffer): void {
    attributes.setXattr(this.s, ino, name, value)
  }

  removeXattr(ino: number, name: string): void {
    attributes.removeXattr(this.s, ino, name)
  }
}
