/**
 * Public value types of the razorfs core API (native values, not on-disk records).
 */

/** A point in time with nanosecond precision. `sec` may be negative (before 1970). */
export interface Timespec {
  sec: number
  nsec: number
}

/** The current time (the wall clock, to the millisecond): the one clock of the core and the commands. */
export function now(): Timespec {
  const ms = Date.now()
  return {sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1_000_000}
}

/** File type bits, as in st_mode & S_IFMT. */
export const S_IFMT = 0o170000
export const S_IFSOCK = 0o140000
export const S_IFLNK = 0o120000
export const S_IFREG = 0o100000
export const S_IFBLK = 0o060000
export const S_IFDIR = 0o040000
export const S_IFCHR = 0o020000
export const S_IFIFO = 0o010000

export type FileType = 'file' | 'dir' | 'symlink' | 'chardev' | 'blockdev' | 'fifo' | 'socket'

/** Everything stat(2) would tell about an inode, plus razorfs extras. */
export interface Stat {
  ino: number
  /** Full st_mode: type bits and permission bits. */
  mode: number
  type: FileType
  uid: number
  gid: number
  nlink: number
  /** Logical size in bytes (for a directory: the number of entries). */
  size: number
  /** Device number for character and block devices (Linux encoding of makedev). */
  rdev: number
  /** Bytes of image space the inode's data occupies (whole blocks, plus inline bytes). */
  allocated: number
  /** Inode flags (see FORMAT.md, "Inode flags"). */
  flags: number
  generation: number
  atime: Timespec
  mtime: Timespec
  ctime: Timespec
  crtime: Timespec
  /** For directories: the inode of the parent directory ('..'). The root is its own parent. */
  parent: number
}

/** One entry of a directory listing. Names are raw bytes: any byte but '/' and NUL. */
export interface DirEntry {
  name: Buffer
  ino: number
  type: FileType
}

/** One mapped range of a file, as `dump --inode` shows it. */
export interface ExtentInfo {
  /** Logical byte offset in the file. */
  offset: number
  /** Logical length in bytes. */
  length: number
  /** 'inline' (data in the metadata tree), 'raw', 'zstd' or 'packed' (a slice of a shared pack, FORMAT.md §10). */
  kind: 'inline' | 'raw' | 'zstd' | 'packed'
  /** First physical block (0 for inline; packed: the pack's first block). */
  block: number
  /** Number of physical blocks (0 for inline). */
  blocks: number
  /** Stored (possibly compressed) byte length; packed: the slice's offset in the pack's raw content. */
  stored: number
  /** CRC32 of the stored bytes (packed: of the slice's bytes). */
  crc: number
}

/** mkfs: one file tail as a slice of a pack (Image.storePack, FORMAT.md §10). */
export interface PackSlice {
  ino: number
  /** File offset of the tail (a multiple of the cluster size). */
  offset: number
  /** Offset of the slice in the pack's raw content. */
  start: number
  length: number
  /** CRC32 of the slice's bytes. */
  crc: number
}

/** Attributes that may be set when creating an inode or with setattr. Omitted fields keep their value (or default). */
export interface InodeAttrs {
  mode?: number
  uid?: number
  gid?: number
  rdev?: number
  flags?: number
  atime?: Timespec
  mtime?: Timespec
  ctime?: Timespec
  crtime?: Timespec
}

/** Compression settings: `none`, or zstd at a level from 1 to 22. */
export interface CompressionSpec {
  algorithm: 'none' | 'zstd'
  level: number
}

/** Options for {@link Image.create}. Defaults are applied once, in `normalizeCreateOptions`. */
export interface CreateOptions {
  /** Image size in bytes; rounded down to whole blocks. */
  size: number
  /** Block size in bytes: a power of two from 1024 to 65536. Default 4096. */
  blockSize?: number
  /** Compression cluster size in bytes: a power of two, a multiple of the block size, at most 1 MiB. Default 128 KiB. */
  clusterSize?: number
  /** Volume label, at most 64 bytes of UTF-8. */
  label?: string
  /** 16-byte UUID as a string (8-4-4-4-12 hex). Default: random. */
  uuid?: string
  compression?: CompressionSpec
  /** Journal size in blocks (reserved for the journal; 0 for none). Default scaled to the image. */
  journalBlocks?: number
  /** Creation time of the filesystem and of the root directory. Default: now. */
  time?: Timespec
  /** Replace an existing file. Without it, create refuses a non-empty file. */
  force?: boolean
  /**
   * Source of the times the image records by itself: a new inode's times
   * before its attributes are set, a directory's mtime and ctime when entries
   * are added, ctime on attribute changes, the superblock's modified time at
   * close. Default: the system clock. Reproducible builds pass a constant.
   */
  clock?: () => Timespec
  /**
   * Bulk build (mkfs): metadata goes straight home instead of through journal
   * transactions, with one fsync at close. A crash during the build leaves an
   * image that must be discarded (mkfs deletes it); the journal area stays
   * empty and is used from the next read-write open. Enables
   * {@link Image.fitToContents}.
   */
  bulk?: boolean
}

export interface OpenOptions {
  readOnly?: boolean
  /** With a read-write open: free the inodes a crash left unlinked but open (default true; fsck's repair does its own). */
  reapOrphans?: boolean
  /** Metadata cache bound, in blocks. Default 16384. */
  cacheBlocks?: number
}

/** Space and object counts, as `dump` and statfs report them. */
export interface ImageStats {
  blockSize: number
  clusterSize: number
  blocks: number
  freeBlocks: number
  usedBlocks: number
  inodes: number
  /** Bytes of file data as files see them (logical, excluding holes). */
  dataBytes: number
  /** Bytes of image space used to store that data. */
  storedBytes: number
}
