// The orphan list (FORMAT.md §7): an inode unlinked while held open stays
// readable and writable, is freed by the last release, and a crash while it
// is open frees it at the next read-write open — checking clean throughout.
import t from 'tap'
import path from 'node:path'
import {Image} from '../src/core/index.js'
import {tmpDir} from './helpers/image.js'

t.test('unlinked while held: alive until the last release', async (t) => {
  const image = path.join(tmpDir(t, 'orphan'), 'o.img')
  const img = Image.create(image, {size: 32 << 20})
  const ino = img.create(1, 'f', {mode: 0o644})
  img.write(ino, 0, Buffer.alloc(300000, 7))
  const free0 = img.info().freeBlocks
  img.hold(ino)
  img.hold(ino)
  img.unlink(1, 'f')
  t.equal(img.lookup(1, 'f'), undefined, 'the name is gone')
  t.equal(img.stat(ino).nlink, 0, 'nlink 0')
  t.equal(img.read(ino, 0, 10).toString('hex'), '07'.repeat(10), 'still readable')
  img.write(ino, 10, Buffer.from('still writable'))
  t.equal(img.read(ino, 10, 14).toString(), 'still writable', 'still writable')
  t.same(img.check().problems, [], 'an open orphan checks clean')
  img.release(ino)
  t.equal(img.stat(ino).nlink, 0, 'one hold left: still there')
  img.release(ino)
  t.throws(() => img.stat(ino), {code: 'ENOENT'}, 'the last release frees it')
  t.ok(img.info().freeBlocks > free0, 'its blocks are free again')
  t.same(img.check().problems, [], 'checks clean after the release')
  t.throws(() => img.link(ino, 1, 'again'), {code: 'ENOENT'}, 'a freed inode cannot be linked')
  img.close()
})

t.test('a hold on a file that keeps another name changes nothing', async (t) => {
  const image = path.join(tmpDir(t, 'orphan'), 'o.img')
  const img = Image.create(image, {size: 16 << 20})
  const ino = img.create(1, 'a', {})
  img.link(ino, 1, 'b')
  img.hold(ino)
  img.unlink(1, 'a')
  img.release(ino)
  t.equal(img.stat(ino).nlink, 1, 'still linked as b')
  t.same(img.check().problems, [])
  img.close()
})

t.test('crash with an unlinked open file: freed at the next read-write open', async (t) => {
  const image = path.join(tmpDir(t, 'orphan'), 'o.img')
  const img = Image.create(image, {size: 32 << 20})
  const ino = img.create(1, 'victim', {})
  img.write(ino, 0, Buffer.alloc(200000, 1))
  img.flush()
  const used = img.info().blocks - img.info().freeBlocks
  img.hold(ino)
  img.unlink(1, 'victim')
  img.flush()
  img.abandon()
  const ro = Image.open(image)
  t.same(ro.check().problems, [], 'a read-only look at the crashed image checks clean (the orphan is on the list)')
  t.equal(ro.stat(ino).nlink, 0, 'the orphan is still there')
  ro.close()
  const rw = Image.open(image, {readOnly: false})
  t.equal(rw.recovery?.orphans, 1, 'recovery reports one orphan freed')
  t.throws(() => rw.stat(ino), {code: 'ENOENT'}, 'freed')
  t.same(rw.check().problems, [], 'checks clean')
  t.ok(rw.info().blocks - rw.info().freeBlocks < used, 'its blocks were returned')
  rw.close()
})

t.test('close frees held orphans', async (t) => {
  const image = path.join(tmpDir(t, 'orphan'), 'o.img')
  const img = Image.create(image, {size: 16 << 20})
  const ino = img.create(1, 'x', {})
  img.hold(ino)
  img.unlink(1, 'x')
  img.close()
  const ro = Image.open(image)
  t.throws(() => ro.stat(ino), {code: 'ENOENT'})
  t.same(ro.check().problems, [])
  ro.close()
})
