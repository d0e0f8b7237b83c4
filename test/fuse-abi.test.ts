// Pins the kernel FUSE structures declared in src/fuse/abi.ts to the kernel's
// layout, as test/format-layout.test.ts pins the disk format. The expected
// numbers were worked out by hand from the struct definitions in the Linux
// uapi header <linux/fuse.h> (read from /usr/include/linux/fuse.h, protocol
// 7.38, on the build machine; C layout: naturally aligned fields, no padding
// between them as every struct is ordered largest-alignment-safe). razorfs
// speaks 7.31; where 7.38 differs it is noted: fuse_init_in grew flags2 and
// unused[11] in 7.36 (the first 16 bytes are unchanged, and a 7.31 server
// reads only those); fuse_init_out's map_alignment/unused[8] became
// map_alignment/flags2/unused[7] (same 64 bytes); fuse_setxattr_in is the
// 8-byte FUSE_COMPAT_SETXATTR_IN_SIZE form unless FUSE_SETXATTR_EXT is
// negotiated (razorfs does not); fuse_in_header's last u32 padding became
// u16 total_extlen + u16 padding and fuse_attr's padding became flags (same
// offsets); fuse_open_in.unused and fuse_create_in.padding became open_flags.
import t from 'tap'
import * as abi from '../src/fuse/abi.js'

type Layout = {size: number; offsets: Record<string, number>}

const expected: Record<string, Layout> = {
  fuseInHeader: {size: 40, offsets: {len: 0, opcode: 4, unique: 8, nodeid: 16, uid: 24, gid: 28, pid: 32, padding: 36}},
  fuseOutHeader: {size: 16, offsets: {len: 0, error: 4, unique: 8}},
  fuseAttr: {
    size: 88,
    offsets: {
      ino: 0,
      size: 8,
      blocks: 16,
      atime: 24,
      mtime: 32,
      ctime: 40,
      atimensec: 48,
      mtimensec: 52,
      ctimensec: 56,
      mode: 60,
      nlink: 64,
      uid: 68,
      gid: 72,
      rdev: 76,
      blksize: 80,
      padding: 84,
    },
  },
  fuseEntryOut: {
    size: 128,
    offsets: {
      nodeid: 0,
      generation: 8,
      entry_valid: 16,
      attr_valid: 24,
      entry_valid_nsec: 32,
      attr_valid_nsec: 36,
      attr: 40,
    },
  },
  fuseAttrOut: {size: 104, offsets: {attr_valid: 0, attr_valid_nsec: 8, dummy: 12, attr: 16}},
  fuseDirent: {size: 24, offsets: {ino: 0, off: 8, namelen: 16, type: 20}}, // FUSE_NAME_OFFSET 24
  fuseDirentplus: {size: 152, offsets: {entry_out: 0, dirent: 128}},
  fuseInitIn: {size: 16, offsets: {major: 0, minor: 4, max_readahead: 8, flags: 12}},
  fuseInitOut: {
    size: 64,
    offsets: {
      major: 0,
      minor: 4,
      max_readahead: 8,
      flags: 12,
      max_background: 16,
      congestion_threshold: 18,
      max_write: 20,
      time_gran: 24,
      max_pages: 28,
      map_alignment: 30,
      unused: 32,
    },
  },
  fuseForgetIn: {size: 8, offsets: {nlookup: 0}},
  fuseBatchForgetIn: {size: 8, offsets: {count: 0, dummy: 4}},
  fuseForgetOne: {size: 16, offsets: {nodeid: 0, nlookup: 8}},
  fuseNotifyRetrieveOut: {size: 32, offsets: {notify_unique: 0, nodeid: 8, offset: 16, size: 24, padding: 28}},
  fuseGetattrIn: {size: 16, offsets: {getattr_flags: 0, dummy: 4, fh: 8}},
  fuseSetattrIn: {
    size: 88,
    offsets: {
      valid: 0,
      padding: 4,
      fh: 8,
      size: 16,
      lock_owner: 24,
      atime: 32,
      mtime: 40,
      ctime: 48,
      atimensec: 56,
      mtimensec: 60,
      ctimensec: 64,
      mode: 68,
      unused4: 72,
      uid: 76,
      gid: 80,
      unused5: 84,
    },
  },
  fuseMknodIn: {size: 16, offsets: {mode: 0, rdev: 4, umask: 8, padding: 12}},
  fuseMkdirIn: {size: 8, offsets: {mode: 0, umask: 4}},
  fuseRenameIn: {size: 8, offsets: {newdir: 0}},
  fuseRename2In: {size: 16, offsets: {newdir: 0, flags: 8, padding: 12}},
  fuseLinkIn: {size: 8, offsets: {oldnodeid: 0}},
  fuseAccessIn: {size: 8, offsets: {mask: 0, padding: 4}},
  fuseOpenIn: {size: 8, offsets: {flags: 0, unused: 4}},
  fuseCreateIn: {size: 16, offsets: {flags: 0, mode: 4, umask: 8, padding: 12}},
  fuseOpenOut: {size: 16, offsets: {fh: 0, open_flags: 8, padding: 12}},
  fuseReadIn: {
    size: 40,
    offsets: {fh: 0, offset: 8, size: 16, read_flags: 20, lock_owner: 24, flags: 32, padding: 36},
  },
  fuseWriteIn: {
    size: 40,
    offsets: {fh: 0, offset: 8, size: 16, write_flags: 20, lock_owner: 24, flags: 32, padding: 36},
  },
  fuseWriteOut: {size: 8, offsets: {size: 0, padding: 4}},
  fuseReleaseIn: {size: 24, offsets: {fh: 0, flags: 8, release_flags: 12, lock_owner: 16}},
  fuseFlushIn: {size: 24, offsets: {fh: 0, unused: 8, padding: 12, lock_owner: 16}},
  fuseFsyncIn: {size: 16, offsets: {fh: 0, fsync_flags: 8, padding: 12}},
  fuseFallocateIn: {size: 32, offsets: {fh: 0, offset: 8, length: 16, mode: 24, padding: 28}},
  fuseLseekIn: {size: 24, offsets: {fh: 0, offset: 8, whence: 16, padding: 20}},
  fuseLseekOut: {size: 8, offsets: {offset: 0}},
  // struct fuse_statfs_out { struct fuse_kstatfs st; }
  fuseStatfsOut: {
    size: 80,
    offsets: {
      blocks: 0,
      bfree: 8,
      bavail: 16,
      files: 24,
      ffree: 32,
      bsize: 40,
      namelen: 44,
      frsize: 48,
      padding: 52,
      spare: 56,
    },
  },
  fuseSetxattrIn: {size: 8, offsets: {size: 0, flags: 4}}, // FUSE_COMPAT_SETXATTR_IN_SIZE
  fuseGetxattrIn: {size: 8, offsets: {size: 0, padding: 4}},
  fuseGetxattrOut: {size: 8, offsets: {size: 0, padding: 4}},
}

t.test('every FUSE structure has the size and field offsets of <linux/fuse.h>', async (t) => {
  const declared = Object.entries(abi).filter(
    (e): e is [string, Layout] => typeof e[1] === 'object' && e[1] !== null && 'offsets' in e[1],
  )
  t.same(declared.map(([n]) => n).sort(), Object.keys(expected).sort(), 'each declaration is pinned here')
  for (const [name, s] of declared) {
    t.equal(s.size, expected[name]!.size, `${name} size`)
    t.same({...s.offsets}, expected[name]!.offsets, `${name} offsets`)
  }
})

t.test('protocol constants', async (t) => {
  t.equal(abi.FUSE_KERNEL_VERSION, 7)
  t.equal(abi.FUSE_KERNEL_MINOR, 31)
  t.equal(abi.FUSE_COMPAT_INIT_OUT_SIZE, 8)
  t.same(
    [abi.Op.LOOKUP, abi.Op.INIT, abi.Op.READDIRPLUS, abi.Op.RENAME2, abi.Op.LSEEK, abi.Op.SYNCFS],
    [1, 26, 44, 45, 46, 50],
  )
  t.same([abi.FUSE_DO_READDIRPLUS, abi.FUSE_MAX_PAGES, abi.FUSE_CACHE_SYMLINKS], [1 << 13, 1 << 22, 1 << 23])
  t.same([abi.FATTR_ATIME_NOW, abi.FATTR_MTIME_NOW, abi.FATTR_CTIME], [1 << 7, 1 << 8, 1 << 10])
  t.equal(abi.FUSE_NOTIFY_RETRIEVE, 5)
})
