#!/usr/bin/env python3
"""fsx-style random file operations (after xfstests' fsx) on two files at once:
a file on a razorfs mount and a host file, which must stay identical.

    fsx.py MOUNT_FILE HOST_FILE

Operations: write, mapped write (mmap MAP_SHARED + msync), read, mapped read,
truncate, every fallocate mode (0, KEEP_SIZE, PUNCH_HOLE|KEEP_SIZE, ZERO_RANGE,
ZERO_RANGE|KEEP_SIZE), fsync/fdatasync now and then, close and reopen, and
writes and reads through an O_DIRECT descriptor of the mount file some of the
time. The modes the mount does not offer (COLLAPSE_RANGE, INSERT_RANGE,
UNSHARE_RANGE) must fail with EOPNOTSUPP. After every operation the outcome
(ok or errno) of both sides, both sizes and the bytes of the range the
operation touched (read back through the buffered or the O_DIRECT descriptor)
are compared; every 500 operations and at the end the whole file.

The seed and the comparison live here only. Environment:
  RAZORFS_TEST_SEED       replay a run (printed at the start; random if unset)
  RAZORFS_TEST_FSX_OPS    number of operations (default 100000)
  RAZORFS_TEST_FSX_MAXLEN largest file size (default 256 KiB, as fsx)
On success the last line is a JSON object of operation counts; on a
difference it prints the seed, the operation number, the recent operations
and the first differing byte, and exits 1.
"""
import ctypes
import errno
import json
import mmap
import os
import random
import sys
import time

KEEP_SIZE = 0x01
PUNCH_HOLE = 0x02
COLLAPSE_RANGE = 0x08
ZERO_RANGE = 0x10
INSERT_RANGE = 0x20
UNSHARE_RANGE = 0x40
PAGE = 4096

libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
libc.fallocate.restype = ctypes.c_int


def fallocate(fd, mode, off, length):
    if libc.fallocate(fd, mode, off, length) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def outcome(fn):
    try:
        r = fn()
        return ('ok', r)
    except OSError as e:
        name = errno.errorcode.get(e.errno, str(e.errno))
        return ('EOPNOTSUPP' if name == 'ENOTSUP' else name, None)


class Fsx:
    def __init__(self, mfile, hfile, seed, ops, maxlen):
        self.mfile, self.hfile = mfile, hfile
        self.seed, self.ops, self.maxlen = seed, ops, maxlen
        self.rng = random.Random(seed)
        self.maxop = 64 * 1024
        self.log = []
        self.counts = {}
        self.emulated = set()
        self.step = 0
        self.abuf = mmap.mmap(-1, self.maxop + 2 * PAGE)  # page-aligned buffer for O_DIRECT
        for p in (mfile, hfile):
            if os.path.exists(p):
                os.unlink(p)
        self.open()

    def open(self):
        self.m = os.open(self.mfile, os.O_RDWR | os.O_CREAT, 0o644)
        self.h = os.open(self.hfile, os.O_RDWR | os.O_CREAT, 0o644)
        self.d = os.open(self.mfile, os.O_RDWR | os.O_DIRECT)

    def close(self):
        for fd in (self.m, self.d, self.h):
            os.close(fd)

    def note(self, what):
        self.log.append(f'{self.step}: {what}')
        if len(self.log) > 40:
            del self.log[0]

    def fail(self, why):
        print(f'fsx: FAILED at operation {self.step} (seed {self.seed}; replay with RAZORFS_TEST_SEED={self.seed} RAZORFS_TEST_FSX_OPS={self.step + 1}): {why}', flush=True)
        print('recent operations:', flush=True)
        for line in self.log:
            print('  ' + line, flush=True)
        sys.exit(1)

    def size(self):
        return os.fstat(self.h).st_size

    # ---- comparison ----------------------------------------------------------

    def read_direct(self, off, length):
        """Read [off, off+length) of the mount file through O_DIRECT (aligned outward)."""
        a = off - off % PAGE
        e = -(-(off + length) // PAGE) * PAGE
        out = bytearray()
        pos = a
        while pos < e:
            n = min(e - pos, len(self.abuf) - PAGE)
            got = os.preadv(self.d, [memoryview(self.abuf)[:n]], pos)
            out += self.abuf[:got]
            if got < n:
                break
            pos += got
        return bytes(out[off - a:off - a + length])

    def compare(self, off, length, how=None):
        hs, ms = os.fstat(self.h).st_size, os.fstat(self.m).st_size
        if hs != ms:
            self.fail(f'size: host {hs:#x}, mount {ms:#x}')
        if length <= 0 or off >= hs:
            return
        length = min(length, hs - off)
        how = how or ('direct' if self.rng.random() < 0.2 else 'buffered')
        want = os.pread(self.h, length, off)
        got = os.pread(self.m, length, off) if how == 'buffered' else self.read_direct(off, length)
        if want != got:
            if len(got) != len(want):
                self.fail(f'{how} read of {off:#x}+{length:#x}: {len(got):#x} bytes from the mount, {len(want):#x} from the host')
            i = next(i for i in range(len(want)) if want[i] != got[i])
            self.fail(f'{how} read of {off:#x}+{length:#x}: first difference at {off + i:#x}: host {want[i]:#04x}, mount {got[i]:#04x}')

    def compare_all(self):
        hs = self.size()
        pos = 0
        while True:
            self.compare(pos, min(1 << 20, hs - pos), 'direct' if (pos // (1 << 20)) % 2 else 'buffered')
            pos += 1 << 20
            if pos >= hs:
                break

    def same(self, what, h, m):
        if h[0] != m[0]:
            self.fail(f'{what}: host {h[0]}, mount {m[0]}')

    # ---- operations ----------------------------------------------------------

    def range(self, aligned=False):
        off = self.rng.randrange(self.maxlen)
        length = self.rng.randrange(1, self.maxop + 1)
        if aligned:
            off -= off % PAGE
            length = max(PAGE, length - length % PAGE)
        length = min(length, self.maxlen - off) if self.maxlen > off else 1
        return off, max(1, length)

    def data(self, n):
        # fsx writes a recognisable pattern; random bytes with runs of zeros test holes too
        if self.rng.random() < 0.15:
            return bytes(n)
        b = bytearray(self.rng.randbytes(n))
        if self.rng.random() < 0.3 and n > 8:
            z = self.rng.randrange(n)
            zl = self.rng.randrange(n - z + 1)
            b[z:z + zl] = bytes(zl)
        return bytes(b)

    def op_write(self):
        direct = self.rng.random() < 0.2
        off, length = self.range(aligned=direct)
        data = self.data(length)
        self.note(f'{"direct " if direct else ""}write {off:#x}+{length:#x}')
        h = outcome(lambda: os.pwrite(self.h, data, off))
        if direct:
            self.abuf[:length] = data
            m = outcome(lambda: os.pwritev(self.d, [memoryview(self.abuf)[:length]], off))
        else:
            m = outcome(lambda: os.pwrite(self.m, data, off))
        self.same('write', h, m)
        if m[1] != h[1]:
            self.fail(f'write returned {m[1]} on the mount, {h[1]} on the host')
        return 'write_direct' if direct else 'write', off, length

    def op_mapwrite(self):
        off, length = self.range()
        data = self.data(length)
        self.note(f'mapwrite {off:#x}+{length:#x}')
        end = off + length
        if end > self.size():
            os.ftruncate(self.h, end)
            os.ftruncate(self.m, end)
        os.pwrite(self.h, data, off)
        pg = off - off % PAGE
        mm = mmap.mmap(self.m, end - pg, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=pg)
        mm[off - pg:end - pg] = data
        mm.flush()
        mm.close()
        return 'mapwrite', off, length

    def op_read(self):
        direct = self.rng.random() < 0.3
        off, length = self.range(aligned=direct)
        self.note(f'{"direct " if direct else ""}read {off:#x}+{length:#x}')
        self.compare(off, length, 'direct' if direct else 'buffered')
        return 'read_direct' if direct else 'read', off, 0

    def op_mapread(self):
        size = self.size()
        if size == 0:
            return 'mapread', 0, 0
        off = self.rng.randrange(size)
        length = min(self.rng.randrange(1, self.maxop + 1), size - off)
        self.note(f'mapread {off:#x}+{length:#x}')
        pg = off - off % PAGE
        mm = mmap.mmap(self.m, off + length - pg, mmap.MAP_SHARED, mmap.PROT_READ, offset=pg)
        got = mm[off - pg:off - pg + length]
        mm.close()
        if got != os.pread(self.h, length, off):
            self.fail(f'mapped read of {off:#x}+{length:#x} differs')
        return 'mapread', off, 0

    def op_truncate(self):
        size = self.rng.randrange(self.maxlen + 1)
        if self.rng.random() < 0.3:
            size -= size % PAGE
        self.note(f'truncate {size:#x} (from {self.size():#x})')
        self.same('truncate', outcome(lambda: os.ftruncate(self.h, size)), outcome(lambda: os.ftruncate(self.m, size)))
        return 'truncate', max(0, size - self.maxop), self.maxop

    MODES = {
        'fallocate': 0,
        'fallocate_keep_size': KEEP_SIZE,
        'punch_hole': PUNCH_HOLE | KEEP_SIZE,
        'zero_range': ZERO_RANGE,
        'zero_range_keep_size': ZERO_RANGE | KEEP_SIZE,
    }

    def op_fallocate(self, name):
        mode = self.MODES[name]
        off, length = self.range()
        self.note(f'{name} {off:#x}+{length:#x} (size {self.size():#x})')
        h = outcome(lambda: fallocate(self.h, mode, off, length))
        if h[0] == 'EOPNOTSUPP':
            # the host file system lacks the mode: do what it means by hand
            self.emulated.add(name)
            size = self.size()
            end = off + length if not mode & KEEP_SIZE else min(off + length, size)
            if mode & (PUNCH_HOLE | ZERO_RANGE) and end > off:
                os.pwrite(self.h, bytes(end - off), off)
            if not mode & KEEP_SIZE and off + length > size:
                os.ftruncate(self.h, off + length)
            h = ('ok', None)
        m = outcome(lambda: fallocate(self.m, mode, off, length))
        self.same(name, h, m)
        return name, off, length

    def op_unsupported(self):
        mode = self.rng.choice([COLLAPSE_RANGE, INSERT_RANGE, UNSHARE_RANGE])
        off = self.rng.randrange(0, self.maxlen, PAGE)
        self.note(f'fallocate mode {mode:#x} {off:#x}+{PAGE:#x}')
        m = outcome(lambda: fallocate(self.m, mode, off, PAGE))
        if m[0] != 'EOPNOTSUPP':
            self.fail(f'fallocate mode {mode:#x}: {m[0]}, not EOPNOTSUPP')
        return 'unsupported', 0, 0

    def op_fsync(self):
        which = self.rng.choice(['fsync', 'fdatasync'])
        self.note(which)
        getattr(os, which)(self.m)
        getattr(os, which)(self.h)
        return which, 0, 0

    def op_reopen(self):
        self.note('close and reopen')
        self.close()
        self.open()
        return 'reopen', 0, 0

    def run(self):
        ops = [
            (20, self.op_write), (8, self.op_mapwrite), (12, self.op_read), (4, self.op_mapread),
            (6, self.op_truncate),
            (5, lambda: self.op_fallocate('fallocate')), (5, lambda: self.op_fallocate('fallocate_keep_size')),
            (6, lambda: self.op_fallocate('punch_hole')), (6, lambda: self.op_fallocate('zero_range')),
            (5, lambda: self.op_fallocate('zero_range_keep_size')),
            (1, self.op_unsupported), (2, self.op_fsync), (1, self.op_reopen),
        ]
        weights = [w for w, _ in ops]
        fns = [f for _, f in ops]
        t0 = time.time()
        for self.step in range(self.ops):
            fn = self.rng.choices(fns, weights)[0]
            try:
                name, off, length = fn()
            except OSError as e:
                self.fail(f'unexpected error: {e}')
            self.counts[name] = self.counts.get(name, 0) + 1
            # the range the operation touched, and a little around it
            lo = max(0, off - PAGE)
            self.compare(lo, length + 2 * PAGE)
            if self.step % 500 == 499:
                self.compare_all()
            if self.step % 10000 == 9999:
                print(f'fsx: {self.step + 1} operations, {time.time() - t0:.0f} s', flush=True)
        self.compare_all()
        self.close()
        self.counts['_emulated'] = sorted(self.emulated)
        self.counts['_seconds'] = round(time.time() - t0, 1)
        print(json.dumps(self.counts), flush=True)


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: fsx.py MOUNT_FILE HOST_FILE')
    seed = os.environ.get('RAZORFS_TEST_SEED') or os.urandom(6).hex()
    ops = int(os.environ.get('RAZORFS_TEST_FSX_OPS') or 100000)
    maxlen = int(os.environ.get('RAZORFS_TEST_FSX_MAXLEN') or (256 << 10))
    print(f'fsx: seed {seed} (replay with RAZORFS_TEST_SEED={seed}), {ops} operations, files up to {maxlen:#x} bytes', flush=True)
    Fsx(sys.argv[1], sys.argv[2], seed, ops, maxlen).run()


if __name__ == '__main__':
    main()
