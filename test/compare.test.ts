/**
 * The comparator itself: it must find nothing between identical trees and
 * must find each kind of difference the round-trip tests rely on. Runs
 * without the core library (host trees only, plus synthetic "image" data
 * layouts), so it is meaningful even while the core is a stub.
 */
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {spawnSync} from 'node:child_process'
import {generateTree, mixedTree, treeManifest} from './helpers/tree.js'
import {compare, describeHost, formatDiffs, holeDiffs, showBytes, summary, type Description} from './helpers/compare.js'
import {xattrLib} from './helpers/xattr.js'

const sh = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, {encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`)
}

t.test('showBytes renders names unambiguously', async (t) => {
  t.equal(showBytes(Buffer.from('café/日本')), 'café/日本')
  t.equal(showBytes(Buffer.from([0x61, 0xff, 0x62])), 'a\\xffb')
  t.equal(showBytes(Buffer.from('a\\xffb')), 'a\\\\xffb', 'a literal backslash cannot collide with an escape')
  t.equal(showBytes(Buffer.from('new\nline')), 'new\\x0aline')
  t.equal(showBytes(Buffer.from([0xc0, 0xaf])), '\\xc0\\xaf', 'overlong encoding is invalid')
  t.equal(showBytes(Buffer.from([0xed, 0xa0, 0x80])), '\\xed\\xa0\\x80', 'surrogates are invalid')
  t.equal(showBytes(Buffer.from('🦀')), '🦀')
})

t.test('holeDiffs', async (t) => {
  const bs = 4096
  t.same(holeDiffs('/f', [[0, 4096]], [[0, 4096]], 4096, bs), [])
  t.same(holeDiffs('/f', [], [], 1 << 20, bs), [], 'all hole, nothing mapped')
  t.match(
    holeDiffs('/f', [], [[0, 8192]], 8192, bs).join(),
    /2 all-zero block\(s\) of 4096 bytes are stored instead of holes \(at 0, 4096\)/,
  )
  t.match(holeDiffs('/f', [[5000, 6000]], [], 8192, bs).join(), /blocks holding data have no extent \(at 4096\)/)
  // data in the first KiB of a block: the whole block may (must) be mapped
  t.same(holeDiffs('/f', [[4096, 5120]], [[4096, 8192]], 10000, bs), [])
  // a zero block between two data blocks inside one mapped run
  t.match(
    holeDiffs(
      '/f',
      [
        [0, 4096],
        [8192, 12288],
      ],
      [[0, 12288]],
      12288,
      bs,
    ).join(),
    /1 all-zero block.*at 4096/,
  )
  // partial tail block holding data
  t.same(holeDiffs('/f', [[8192, 8200]], [[8192, 8200]], 8200, bs), [])
})

t.test('host tree against itself and against a mutated copy', async (t) => {
  const root = await mixedTree()
  const m = treeManifest('mixed')
  t.comment(
    `mixed tree: ${m.entries} entries, generated in ${m.generatedMs} ms; skipped: ${m.skipped.join(', ') || 'nothing'}`,
  )
  const a = describeHost(root)
  t.comment(summary(a))
  t.ok(a.entries.size > 3000, 'thousands of entries')
  const types = new Set([...a.entries.values()].map((e) => e.type))
  for (const ty of [
    'file',
    'dir',
    'symlink',
    'fifo',
    'socket',
    ...(m.skipped.some((s) => s.startsWith('device')) ? [] : ['chardev', 'blockdev']),
  ])
    t.ok(types.has(ty as never), `tree has a ${ty}`)
  t.ok(
    [...a.entries.keys()].some((p) => p.includes('\\xff')),
    'tree has non-UTF-8 names',
  )
  t.ok(
    [...a.entries.values()].some((e) => e.nlink === 3 && e.type === 'file'),
    'tree has a 3-link group',
  )
  t.ok(
    [...a.entries.values()].some((e) => e.path.split('/').length > 45),
    'tree is more than 40 deep',
  )
  if (xattrLib())
    t.ok(
      [...a.entries.values()].some((e) => (e.xattrs?.size ?? 0) >= 2),
      'tree has files with several xattrs',
    )
  t.ok(a.entries.get('/sparse/all-hole')!.allocated === 0, 'all-hole file allocates nothing on the host')
  t.same(a.entries.get('/sparse/zeros-1m')!.data, [], 'written zeros are seen as zero data')
  t.equal(a.entries.get('/times/pre-1970')!.mtimeNs, -1_000_000_000_123_456_789n)

  const b = describeHost(root)
  t.same(compare(a, b), [], 'a tree equals itself')

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'razorfs-compare-'))
  t.teardown(() => fs.rmSync(tmp, {recursive: true, force: true}))
  const copy = path.join(tmp, 'copy')
  sh('cp', ['-a', root, copy])
  const c0 = describeHost(copy)
  t.same(compare(a, c0), [], `cp -a copy compares equal:\n${formatDiffs(compare(a, c0))}`)

  // Mutate the copy: each change must be reported.
  const P = (rel: string) => path.join(copy, rel)
  const expect: [string, RegExp][] = []
  const flipped =
    'files/d00/' +
    fs
      .readdirSync(P('files/d00'))
      .sort()
      .find((n) => fs.statSync(P('files/d00/' + n)).size > 100)!
  const fd = fs.openSync(P(flipped), 'r+')
  fs.writeSync(fd, Buffer.from([0x5a]), 0, 1, 50)
  fs.closeSync(fd)
  expect.push(['one flipped byte', /^\/files\/d00\/.*: content differs: .*first difference in MiB #0/m])
  const big = P('sparse/zero-cluster-inside')
  const bfd = fs.openSync(big, 'r+')
  fs.writeSync(bfd, Buffer.from('X'), 0, 1, 200 * 1024 + 5)
  fs.closeSync(bfd)
  expect.push(['a byte written into a zero range', /^\/sparse\/zero-cluster-inside: content differs/m])
  fs.chmodSync(P('modes/f-0600'), 0o640)
  expect.push(['chmod', /^\/modes\/f-0600: mode differs: host 100600, host 100640/m])
  fs.chownSync(P('owners/u1000'), 1001, 1000)
  expect.push(['chown', /^\/owners\/u1000: uid differs: host 1000, host 1001/m])
  sh('touch', ['-h', '-m', '-d', '@1600000000.000000002', P('times/ns-1')])
  expect.push([
    'mtime off by 1 ns',
    /^\/times\/ns-1: mtime differs: host 1600000000\.000000001, host 1600000000\.000000002/m,
  ])
  if (xattrLib()) {
    xattrLib()!.setAttributeSync(P('xattrs/big-value'), 'user.small', Buffer.from('t'))
    expect.push(['xattr value', /^\/xattrs\/big-value: xattr user\.small differs/m])
    xattrLib()!.removeAttributeSync(P('xattrs/nul-bytes'), 'user.nul')
    expect.push(['xattr removed', /^\/xattrs\/nul-bytes: xattr user\.nul missing in host/m])
  }
  // break a hardlink: replace one name by a copy of the same content
  fs.copyFileSync(P('links/three-b'), P('links/three-b.tmp'))
  fs.renameSync(P('links/three-b.tmp'), P('links/three-b'))
  expect.push([
    'broken hardlink',
    /^\/links\/three-a: hardlink group differs: host \[\/links\/sub\/three-c, \/links\/three-a, \/links\/three-b\], host \[\/links\/sub\/three-c, \/links\/three-a\]/m,
  ])
  expect.push(['nlink', /^\/links\/three-a: nlink differs: host 3, host 2/m])
  fs.unlinkSync(P('types/symlink-rel'))
  fs.symlinkSync('../files/d01', P('types/symlink-rel'))
  expect.push([
    'symlink target',
    /^\/types\/symlink-rel: symlink target differs: host "..\/files\/d00", host "..\/files\/d01"/m,
  ])
  fs.unlinkSync(P('types/fifo'))
  fs.writeFileSync(P('types/fifo'), '')
  expect.push(['fifo replaced by a file', /^\/types\/fifo: type differs: host fifo, host file/m])
  if (fs.existsSync(P('types/chardev-null'))) {
    fs.unlinkSync(P('types/chardev-null'))
    sh('mknod', [P('types/chardev-null'), 'c', '1', '5'])
    expect.push(['rdev', /^\/types\/chardev-null: rdev differs: host 0x103, host 0x105/m])
  }
  fs.unlinkSync(Buffer.from(P('names/') + '\xff\xfe\xfd', 'latin1'))
  expect.push(['non-UTF-8 name removed', /^\/names\/\\xff\\xfe\\xfd: missing in host \(file in host\)/m])
  fs.writeFileSync(P('names/new-file'), 'x')
  expect.push(['file added', /^\/names\/new-file: only in host \(file\)/m])
  fs.truncateSync(P('sparse/hole-end'), 1024 * 1024 + 1)
  expect.push(['size', /^\/sparse\/hole-end: size differs: host 1048576, host 1048577/m])

  const diffs = compare(a, describeHost(copy))
  const all = diffs.join('\n')
  for (const [what, re] of expect) t.match(all, re, `detects: ${what}`)
  // Every difference concerns a mutated path or the directory holding it.
  const touched = new Set<string>()
  const mutated = [
    '/' + flipped,
    '/sparse/zero-cluster-inside',
    '/modes/f-0600',
    '/owners/u1000',
    '/times/ns-1',
    '/xattrs/big-value',
    '/xattrs/nul-bytes',
    '/links/three-a',
    '/links/three-b',
    '/links/sub/three-c',
    '/types/symlink-rel',
    '/types/fifo',
    '/types/chardev-null',
    '/names/\\xff\\xfe\\xfd',
    '/names/new-file',
    '/sparse/hole-end',
  ]
  for (const p of mutated) {
    touched.add(p)
    touched.add(path.dirname(p))
  }
  const unexpected = diffs.filter((d) => {
    const p = d.slice(0, d.indexOf(': '))
    return !touched.has(p)
  })
  t.same(unexpected, [], 'no unrelated differences')
})

t.test('image-side data layout (synthetic)', async (t) => {
  const root = await mixedTree()
  const host = describeHost(root)
  // Pretend to be an image that stores exactly the non-zero blocks.
  const bs = 4096
  const asImage = (mut: (p: string, runs: [number, number][]) => [number, number][]): Description => {
    const entries = new Map()
    for (const [p, e] of host.entries) {
      if (e.type !== 'file') {
        entries.set(p, e)
        continue
      }
      const runs: [number, number][] = []
      for (const [s, en] of e.data!) {
        const lo = Math.floor(s / bs) * bs
        const hi = Math.min(Math.ceil(en / bs) * bs, e.size)
        const last = runs[runs.length - 1]
        if (last && last[1] >= lo) last[1] = Math.max(last[1], hi)
        else runs.push([lo, hi])
      }
      entries.set(p, {...e, data: mut(p, runs)})
    }
    return {source: 'image', root: 'synthetic', entries, problems: [], blockSize: bs}
  }
  t.same(
    compare(
      host,
      asImage((_, r) => r),
    ),
    [],
    'block-exact mapping is accepted',
  )
  const zeros = compare(
    host,
    asImage((p, r) => (p === '/sparse/zeros-1m' ? [[0, 1 << 20]] : r)),
  )
  t.match(zeros.join('\n'), /\/sparse\/zeros-1m: 256 all-zero block\(s\) of 4096 bytes are stored instead of holes/)
  const inCluster = compare(
    host,
    asImage((p, r) => (p === '/sparse/zero-blocks-in-cluster' ? [[0, 131072]] : r)),
  )
  t.match(inCluster.join('\n'), /\/sparse\/zero-blocks-in-cluster: 16 all-zero block\(s\)/)
  const lost = compare(
    host,
    asImage((p, r) => (p === '/sparse/hole-middle' ? r.slice(1) : r)),
  )
  t.match(lost.join('\n'), /\/sparse\/hole-middle: blocks holding data have no extent \(at 0/)
  t.equal(lost.length, 1)
})

t.test('the generator is deterministic', async (t) => {
  const root = await mixedTree()
  const tmp = fs.mkdtempSync(path.join(path.dirname(root), 'again-'))
  t.teardown(() => fs.rmSync(tmp, {recursive: true, force: true}))
  const again = await generateTree('mixed', path.join(tmp, 'mixed'))
  const diffs = compare(describeHost(root), describeHost(again.root))
  t.same(
    diffs,
    [],
    `a second generation with the same seed is identical${diffs.length ? `:\n${formatDiffs(diffs)}` : ''}`,
  )
  const other = await generateTree('mixed', path.join(tmp, 'other-seed'), 'another seed')
  t.ok(compare(describeHost(root), describeHost(other.root)).length > 1000, 'another seed gives another tree')
})
