/**
 * Host tree → Image.create + populate → close → reopen read-only → the same
 * tree, through the library. See test/helpers/compare.ts for what is compared.
 */
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import {Image} from '../src/core/index.js'
import {bigTree, bigdirTree, mixedTree, BIGDIR_ENTRIES} from './helpers/tree.js'
import {compare, describeHost, describeImageFile, formatDiffs, summary} from './helpers/compare.js'
import {allocatedBytes, buildImage, tmpDir, GiB, MiB} from './helpers/image.js'
import {xattrLib} from './helpers/xattr.js'

t.test('mixed tree, default options (4 KiB blocks, zstd)', async (t) => {
  const root = await mixedTree()
  const dir = tmpDir(t, 'rt-lib')
  const host = describeHost(root)
  const built = buildImage(path.join(dir, 'mixed.img'), root, {size: 256 * MiB})
  t.comment(`populate: ${built.ms} ms, ${JSON.stringify(built.result)}`)
  t.same(built.warnings, [], 'populate gives no warnings')
  const image = await describeImageFile(built.path)
  t.comment(`image: ${summary(image)}`)
  const diffs = compare(host, image)
  t.same(
    diffs,
    [],
    `image equals host tree${diffs.length ? ` (${diffs.length} differences):\n${formatDiffs(diffs)}` : ''}`,
  )

  const img = Image.open(built.path, {readOnly: true})
  t.teardown(() => img.close())
  t.ok(img.readOnly, 'opened read-only')
  // hardlinks: one inode, nlink = number of names
  const a = img.resolve('/links/three-a')
  t.equal(img.resolve('/links/three-b'), a, 'three-b is three-a')
  t.equal(img.resolve('/links/sub/three-c'), a, 'sub/three-c is three-a')
  t.equal(img.stat(a).nlink, 3, 'nlink 3')
  // a hardlink group whose names include non-UTF-8 bytes
  const odd = Buffer.from('names/dir-\xe9\xff/l\xff', 'latin1')
  const hostOdd = [...host.entries.values()].find((e) => e.raw.equals(odd))!
  const group = [...host.entries.values()].filter((e) => e.inode === hostOdd.inode)
  t.equal(group.length, 2, 'host group of the non-UTF-8 hardlink')
  t.same(
    new Set(group.map((e) => img.resolve(Buffer.concat([Buffer.from('/'), e.raw])))).size,
    1,
    'non-UTF-8 hardlink names resolve to one inode',
  )
  t.equal(img.stat(img.resolve('/links/symlink-a')).nlink, 2, 'hardlinked symlink has nlink 2')
  t.equal(img.resolve('/links/sub/fifo-b'), img.resolve('/links/fifo-a'), 'hardlinked fifo')
  // holes: an all-hole 10 MiB file stores nothing; written zeros are not stored
  t.same(img.extents(img.resolve('/sparse/all-hole')), [], 'all-hole file has no extents')
  t.same(img.extents(img.resolve('/sparse/zeros-1m')), [], 'a file of written zeros has no extents')
  t.equal(img.stat(img.resolve('/sparse/zeros-1m')).size, MiB)
  // xattrs
  if (xattrLib()) {
    const x = img.resolve('/xattrs/big-value')
    t.same(img.listXattrs(x).sort(), ['user.big', 'user.small'])
    t.equal(img.getXattr(x, 'user.big').length, 3000)
    t.same(img.getXattr(img.resolve('/xattrs/empty-value'), 'user.empty'), Buffer.alloc(0), 'empty xattr value')
    t.same(img.listXattrs(img.resolve('/xattrs')), ['user.on-a-dir'], 'directory xattr')
  } else t.comment('fs-xattr not installed: xattrs not checked')
  // nanosecond times, pre-1970
  t.same(
    img.stat(img.resolve('/times/pre-1970')).mtime,
    {sec: -1000000001, nsec: 876543211},
    'pre-1970 mtime to the ns',
  )
  t.same(img.stat(img.resolve('/times/y2100')).mtime, {sec: 4102444800, nsec: 999999999})
})

t.test('mixed tree, 1 KiB blocks, no compression', async (t) => {
  const root = await mixedTree()
  const dir = tmpDir(t, 'rt-lib')
  const built = buildImage(path.join(dir, 'mixed-1k.img'), root, {
    size: 256 * MiB,
    blockSize: 1024,
    compression: {algorithm: 'none', level: 0},
  })
  t.comment(`populate: ${built.ms} ms`)
  t.same(built.warnings, [], 'populate gives no warnings')
  const image = await describeImageFile(built.path)
  t.equal(image.blockSize, 1024)
  const diffs = compare(describeHost(root), image)
  t.same(
    diffs,
    [],
    `image equals host tree${diffs.length ? ` (${diffs.length} differences):\n${formatDiffs(diffs)}` : ''}`,
  )
  const img = Image.open(built.path, {readOnly: true})
  t.teardown(() => img.close())
  const kinds = new Set<string>()
  for (const e of image.entries.values()) for (const x of e.extents ?? []) kinds.add(x.kind)
  t.notOk(kinds.has('zstd'), 'no zstd extents when compression is off')
})

t.test('bigdir: 100,000 entries in one directory', async (t) => {
  const root = await bigdirTree()
  const dir = tmpDir(t, 'rt-lib')
  const built = buildImage(path.join(dir, 'bigdir.img'), root, {size: 256 * MiB})
  t.comment(`populate: ${built.ms} ms`)
  t.same(built.warnings, [], 'populate gives no warnings')
  const s = Date.now()
  const image = await describeImageFile(built.path)
  t.comment(`describe image: ${Date.now() - s} ms`)
  t.equal(image.entries.get('/big')?.entries, BIGDIR_ENTRIES, '100,000 entries listed')
  const diffs = compare(describeHost(root), image)
  t.same(
    diffs,
    [],
    `image equals host tree${diffs.length ? ` (${diffs.length} differences):\n${formatDiffs(diffs)}` : ''}`,
  )
  const img = Image.open(built.path, {readOnly: true})
  t.teardown(() => img.close())
  t.equal(img.stat(img.resolve('/big')).size, BIGDIR_ENTRIES, 'directory size is its entry count')
  const names = fs.readdirSync(path.join(root, 'big'))
  for (const n of [names[0], names[names.length - 1], names[50_000]])
    t.ok(img.lookup(img.resolve('/big'), n), `lookup ${n.slice(0, 30)}`)
})

t.test('big: 1 GiB sparse file and 200 MiB dense file', async (t) => {
  const root = await bigTree()
  const dir = tmpDir(t, 'rt-lib')
  const built = buildImage(path.join(dir, 'big.img'), root, {size: 512 * MiB})
  t.comment(`populate: ${built.ms} ms`)
  t.same(built.warnings, [], 'populate gives no warnings')
  const onHost = allocatedBytes(built.path)
  t.comment(`image file: ${fs.statSync(built.path).size} bytes apparent, ${onHost} bytes allocated`)
  t.ok(
    onHost < 200 * MiB + 64 * MiB,
    `the image file does not hold the 1 GiB of holes (${(onHost / MiB).toFixed(1)} MiB allocated)`,
  )
  const img = Image.open(built.path, {readOnly: true})
  t.teardown(() => img.close())
  const st = img.stats()
  t.comment(`stats: ${JSON.stringify(st)}`)
  t.ok(
    st.storedBytes < 200 * MiB + 16 * MiB,
    `stored bytes ${st.storedBytes} are well below the 1.2 GiB of logical size`,
  )
  t.ok(
    st.dataBytes <= 200 * MiB + 4 * MiB && st.dataBytes >= 200 * MiB,
    `dataBytes ${st.dataBytes}: logical data excluding holes`,
  )
  const sparse = img.resolve('/sparse-1g')
  t.equal(img.stat(sparse).size, GiB)
  const mapped = img.extents(sparse).reduce((n, x) => n + x.length, 0)
  t.ok(mapped <= 4 * MiB, `the sparse file maps only its islands (${mapped} bytes)`)
  t.ok(
    img.stat(sparse).allocated <= 4 * MiB,
    `stat.allocated of the sparse file is small (${img.stat(sparse).allocated})`,
  )
  const dense = img.extents(img.resolve('/dense-200m'))
  const first = dense.filter((x) => x.offset < 100 * MiB)
  const second = dense.filter((x) => x.offset >= 100 * MiB)
  t.ok(
    first.every((x) => x.kind === 'raw'),
    'random half stored raw',
  )
  t.ok(second.length > 0 && second.every((x) => x.kind === 'zstd'), 'text half stored zstd')
  t.ok(second.reduce((n, x) => n + x.stored, 0) < 50 * MiB, 'text half compresses')

  const diffs = compare(describeHost(root), await describeImageFile(built.path))
  t.same(diffs, [], `image equals host tree${diffs.length ? `:\n${formatDiffs(diffs)}` : ''}`)
})

t.test('the comparison sees changes made inside an image', async (t) => {
  // Guards against a comparison that passes because it reads nothing: change
  // an image through the library and check each change is reported.
  const root = await mixedTree()
  const dir = tmpDir(t, 'rt-lib')
  const host = describeHost(root)
  const built = buildImage(path.join(dir, 'mut.img'), root, {size: 256 * MiB})
  const img = Image.open(built.path, {readOnly: false})
  const ino = (p: string) => img.resolve(p)
  const flipped = [...host.entries.values()].find((e) => e.path.startsWith('/files/d03/') && e.size > 5000)!
  img.write(ino(flipped.path), 4321, Buffer.from('!'))
  const ns1 = ino('/times/ns-1')
  img.setattr(ns1, {mtime: {sec: 1600000000, nsec: 2}})
  img.setattr(ino('/modes/f-0600'), {mode: 0o100640})
  img.setattr(ino('/owners/nobody'), {gid: 65533})
  if (xattrLib()) {
    img.setXattr(ino('/xattrs/big-value'), 'user.small', Buffer.from('S'))
    img.removeXattr(ino('/xattrs/nul-bytes'), 'user.nul')
    img.setXattr(ino('/xattrs/empty-file'), 'user.extra', Buffer.from('x'))
  }
  img.unlink(ino('/links'), 'three-b')
  img.unlink(ino('/types'), 'symlink-rel')
  img.symlink(ino('/types'), 'symlink-rel', '../files/d01', {mode: 0o120777})
  img.create(ino('/names'), 'extra', {mode: 0o100644})
  img.rename(ino('/names'), Buffer.from([0x80]), ino('/names'), Buffer.from([0x81]))
  img.write(ino('/sparse/all-hole'), 5 * MiB, Buffer.from('data in a hole'))
  img.truncate(ino('/sparse/hole-end'), MiB - 1)
  img.close()

  const diffs = compare(host, await describeImageFile(built.path))
  const all = diffs.join('\n')
  const expect: [string, RegExp][] = [
    ['one byte written', new RegExp(`^${flipped.path}: content differs: .*MiB #0`, 'm')],
    ['mtime off by 1 ns', /^\/times\/ns-1: mtime differs: host 1600000000\.000000001, image 1600000000\.000000002/m],
    ['mode', /^\/modes\/f-0600: mode differs: host 100600, image 100640/m],
    ['gid', /^\/owners\/nobody: gid differs: host 65534, image 65533/m],
    ['unlinked hardlink', /^\/links\/three-b: missing in image/m],
    ['hardlink group', /^\/links\/three-a: hardlink group differs/m],
    ['nlink', /^\/links\/three-a: nlink differs: host 3, image 2/m],
    ['symlink target', /^\/types\/symlink-rel: symlink target differs/m],
    ['extra file', /^\/names\/extra: only in image/m],
    ['renamed non-UTF-8 name (missing)', /^\/names\/\\x80: missing in image/m],
    ['renamed non-UTF-8 name (extra)', /^\/names\/\\x81: only in image/m],
    ['data written into a hole', /^\/sparse\/all-hole: content differs/m],
    ['size', /^\/sparse\/hole-end: size differs: host 1048576, image 1048575/m],
  ]
  if (xattrLib()) {
    expect.push(['xattr value', /^\/xattrs\/big-value: xattr user\.small differs/m])
    expect.push(['xattr removed', /^\/xattrs\/nul-bytes: xattr user\.nul missing in image/m])
    expect.push(['xattr added', /^\/xattrs\/empty-file: xattr user\.extra only in image/m])
  }
  for (const [what, re] of expect) t.match(all, re, `detects: ${what}`)
})
