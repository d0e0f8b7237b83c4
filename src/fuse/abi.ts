/**
 * The kernel's FUSE ABI as razorfs speaks it (linux/fuse.h, protocol 7.31):
 * opcodes, flag bits, and every request and reply structure, each declared
 * once with the codec of the disk format. Field names are the kernel's, so
 * a line here reads against the header. test/fuse-abi.test.ts pins sizes
 * and offsets.
 *
 * kernel.ts reads and writes fields in place through the precomputed
 * `offsets` of these declarations: nothing is decoded into objects per
 * request. The kernel's u64 values (unique, fh, offsets) are read by kernel.ts
 * as it needs them; the codec's u64 type here only gives the width.
 */
import {bytes, reserved, s32, s64, struct, u16, u32, u64} from '../core/format/codec.js'

export const FUSE_KERNEL_VERSION = 7
export const FUSE_KERNEL_MINOR = 31

export const Op = {
  LOOKUP: 1,
  FORGET: 2,
  GETATTR: 3,
  SETATTR: 4,
  READLINK: 5,
  SYMLINK: 6,
  MKNOD: 8,
  MKDIR: 9,
  UNLINK: 10,
  RMDIR: 11,
  RENAME: 12,
  LINK: 13,
  OPEN: 14,
  READ: 15,
  WRITE: 16,
  STATFS: 17,
  RELEASE: 18,
  FSYNC: 20,
  SETXATTR: 21,
  GETXATTR: 22,
  LISTXATTR: 23,
  REMOVEXATTR: 24,
  FLUSH: 25,
  INIT: 26,
  OPENDIR: 27,
  READDIR: 28,
  RELEASEDIR: 29,
  FSYNCDIR: 30,
  ACCESS: 34,
  CREATE: 35,
  INTERRUPT: 36,
  DESTROY: 38,
  NOTIFY_REPLY: 41,
  BATCH_FORGET: 42,
  FALLOCATE: 43,
  READDIRPLUS: 44,
  RENAME2: 45,
  LSEEK: 46,
  SYNCFS: 50,
} as const
export const OPCODE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Op).map(([k, v]) => [v, k]))

// INIT flags
export const FUSE_ASYNC_READ = 1 << 0
export const FUSE_ATOMIC_O_TRUNC = 1 << 3
export const FUSE_BIG_WRITES = 1 << 5
export const FUSE_DO_READDIRPLUS = 1 << 13
export const FUSE_READDIRPLUS_AUTO = 1 << 14
export const FUSE_PARALLEL_DIROPS = 1 << 18
export const FUSE_MAX_PAGES = 1 << 22
export const FUSE_CACHE_SYMLINKS = 1 << 23

// SETATTR valid bits
export const FATTR_MODE = 1 << 0
export const FATTR_UID = 1 << 1
export const FATTR_GID = 1 << 2
export const FATTR_SIZE = 1 << 3
export const FATTR_ATIME = 1 << 4
export const FATTR_MTIME = 1 << 5
export const FATTR_ATIME_NOW = 1 << 7
export const FATTR_MTIME_NOW = 1 << 8
export const FATTR_CTIME = 1 << 10

export const FOPEN_KEEP_CACHE = 1 << 1
export const FUSE_GETATTR_FH = 1
export const FUSE_NOTIFY_RETRIEVE = 5

// ---- headers ----

export const fuseInHeader = struct([
  ['len', u32],
  ['opcode', u32],
  ['unique', u64],
  ['nodeid', u64],
  ['uid', u32],
  ['gid', u32],
  ['pid', u32],
  ['padding', reserved(4)],
] as const)

export const fuseOutHeader = struct([
  ['len', u32],
  ['error', s32],
  ['unique', u64],
] as const)

// ---- attributes and entries ----

export const fuseAttr = struct([
  ['ino', u64],
  ['size', u64],
  ['blocks', u64],
  ['atime', s64],
  ['mtime', s64],
  ['ctime', s64],
  ['atimensec', u32],
  ['mtimensec', u32],
  ['ctimensec', u32],
  ['mode', u32],
  ['nlink', u32],
  ['uid', u32],
  ['gid', u32],
  ['rdev', u32],
  ['blksize', u32],
  ['padding', u32],
] as const)

export const fuseEntryOut = struct([
  ['nodeid', u64],
  ['generation', u64],
  ['entry_valid', u64],
  ['attr_valid', u64],
  ['entry_valid_nsec', u32],
  ['attr_valid_nsec', u32],
  ['attr', bytes(fuseAttr.size)],
] as const)

export const fuseAttrOut = struct([
  ['attr_valid', u64],
  ['attr_valid_nsec', u32],
  ['dummy', u32],
  ['attr', bytes(fuseAttr.size)],
] as const)

/** A READDIR record's fixed part; the name follows, the record padded to 8 bytes. */
export const fuseDirent = struct([
  ['ino', u64],
  ['off', u64],
  ['namelen', u32],
  ['type', u32],
] as const)

/** A READDIRPLUS record: an entry, then a dirent. */
export const fuseDirentplus = struct([
  ['entry_out', bytes(fuseEntryOut.size)],
  ['dirent', bytes(fuseDirent.size)],
] as const)

// ---- session ----

export const fuseInitIn = struct([
  ['major', u32],
  ['minor', u32],
  ['max_readahead', u32],
  ['flags', u32],
] as const)

export const fuseInitOut = struct([
  ['major', u32],
  ['minor', u32],
  ['max_readahead', u32],
  ['flags', u32],
  ['max_background', u16],
  ['congestion_threshold', u16],
  ['max_write', u32],
  ['time_gran', u32],
  ['max_pages', u16],
  ['map_alignment', u16],
  ['unused', reserved(32)],
] as const)

/** What an INIT reply of another major version carries: ours, for the kernel to retry with. */
export const FUSE_COMPAT_INIT_OUT_SIZE = 8

export const fuseForgetIn = struct([['nlookup', u64]] as const)
export const fuseBatchForgetIn = struct([
  ['count', u32],
  ['dummy', u32],
] as const)
export const fuseForgetOne = struct([
  ['nodeid', u64],
  ['nlookup', u64],
] as const)

export const fuseNotifyRetrieveOut = struct([
  ['notify_unique', u64],
  ['nodeid', u64],
  ['offset', u64],
  ['size', u32],
  ['padding', u32],
] as const)

// ---- requests on inodes and names ----

export const fuseGetattrIn = struct([
  ['getattr_flags', u32],
  ['dummy', u32],
  ['fh', u64],
] as const)

export const fuseSetattrIn = struct([
  ['valid', u32],
  ['padding', u32],
  ['fh', u64],
  ['size', u64],
  ['lock_owner', u64],
  ['atime', s64],
  ['mtime', s64],
  ['ctime', s64],
  ['atimensec', u32],
  ['mtimensec', u32],
  ['ctimensec', u32],
  ['mode', u32],
  ['unused4', u32],
  ['uid', u32],
  ['gid', u32],
  ['unused5', u32],
] as const)

/** Each of these is followed by the NUL-terminated name (RENAME*, LINK: the new name; SYMLINK has no struct). */
export const fuseMknodIn = struct([
  ['mode', u32],
  ['rdev', u32],
  ['umask', u32],
  ['padding', u32],
] as const)
export const fuseMkdirIn = struct([
  ['mode', u32],
  ['umask', u32],
] as const)
export const fuseRenameIn = struct([['newdir', u64]] as const)
export const fuseRename2In = struct([
  ['newdir', u64],
  ['flags', u32],
  ['padding', u32],
] as const)
export const fuseLinkIn = struct([['oldnodeid', u64]] as const)
export const fuseAccessIn = struct([
  ['mask', u32],
  ['padding', u32],
] as const)

// ---- open files ----

export const fuseOpenIn = struct([
  ['flags', u32],
  ['unused', u32],
] as const)
export const fuseCreateIn = struct([
  ['flags', u32],
  ['mode', u32],
  ['umask', u32],
  ['padding', u32],
] as const)
export const fuseOpenOut = struct([
  ['fh', u64],
  ['open_flags', u32],
  ['padding', u32],
] as const)

/** READ, READDIR and READDIRPLUS. */
export const fuseReadIn = struct([
  ['fh', u64],
  ['offset', u64],
  ['size', u32],
  ['read_flags', u32],
  ['lock_owner', u64],
  ['flags', u32],
  ['padding', u32],
] as const)
/** Followed by the data. */
export const fuseWriteIn = struct([
  ['fh', u64],
  ['offset', u64],
  ['size', u32],
  ['write_flags', u32],
  ['lock_owner', u64],
  ['flags', u32],
  ['padding', u32],
] as const)
export const fuseWriteOut = struct([
  ['size', u32],
  ['padding', u32],
] as const)

/** RELEASE and RELEASEDIR. */
export const fuseReleaseIn = struct([
  ['fh', u64],
  ['flags', u32],
  ['release_flags', u32],
  ['lock_owner', u64],
] as const)
export const fuseFlushIn = struct([
  ['fh', u64],
  ['unused', u32],
  ['padding', u32],
  ['lock_owner', u64],
] as const)
/** FSYNC and FSYNCDIR. */
export const fuseFsyncIn = struct([
  ['fh', u64],
  ['fsync_flags', u32],
  ['padding', u32],
] as const)
export const fuseFallocateIn = struct([
  ['fh', u64],
  ['offset', u64],
  ['length', u64],
  ['mode', u32],
  ['padding', u32],
] as const)
export const fuseLseekIn = struct([
  ['fh', u64],
  ['offset', u64],
  ['whence', u32],
  ['padding', u32],
] as const)
export const fuseLseekOut = struct([['offset', u64]] as const)

export const fuseStatfsOut = struct([
  ['blocks', u64],
  ['bfree', u64],
  ['bavail', u64],
  ['files', u64],
  ['ffree', u64],
  ['bsize', u32],
  ['namelen', u32],
  ['frsize', u32],
  ['padding', u32],
  ['spare', reserved(24)],
] as const)

// ---- extended attributes ----

/** Followed by the name, then the value. */
export const fuseSetxattrIn = struct([
  ['size', u32],
  ['flags', u32],
] as const)
/** Followed by the name. */
export const fuseGetxattrIn = struct([
  ['size', u32],
  ['padding', u32],
] as const)
export const fuseGetxattrOut = struct([
  ['size', u32],
  ['padding', u32],
] as const)
