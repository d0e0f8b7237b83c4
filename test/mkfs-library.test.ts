// mkfs() and estimate() from the library: what `razorfs mkfs` does, in one call; --exclude is not counted.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import {estimate, mkfs, walkTree} from '../src/core/index.js'
import {tmpDir} from './helpers/image.js'

t.test('mkfs() builds reproducibly and estimate() leaves out what is excluded', async (t) => {
  const dir = tmpDir(t, 'mkfslib')
  const src = path.join(dir, 'src')
  fs.mkdirSync(path.join(src, 'big'), {recursive: true})
  fs.mkdirSync(path.join(src, 'etc'))
  fs.writeFileSync(path.join(src, 'big/blob'), Buffer.alloc(2 << 20, 7))
  fs.writeFileSync(path.join(src, 'etc/motd'), 'hello\n')
  fs.linkSync(path.join(src, 'etc/motd'), path.join(src, 'etc/motd2'))

  const walked = [...walkTree(src)].map((e) => `${e.rel}${e.link ? ' (link)' : ''}`)
  t.same(walked, ['big', 'big/blob', 'etc', 'etc/motd', 'etc/motd2 (link)'], 'one walk: byte order, hard links')

  const all = await estimate({root: src})
  const some = await estimate({root: src, exclude: ['big']})
  t.ok(all.estimate - some.estimate >= 2 << 20, 'the excluded blob is not counted')
  t.equal(some.inodes, all.inodes - 2)

  const build = (name: string) =>
    mkfs({
      image: path.join(dir, name),
      root: src,
      exclude: ['big'],
      policy: {timestamp: {sec: 1700000000, nsec: 0}},
      workers: 0,
    })
  const a = await build('a.img')
  const b = await build('b.img')
  t.equal(a.files, 1)
  t.equal(a.hardlinks, 1)
  t.equal(a.directories, 1)
  t.same(a.warnings, [])
  t.equal(a.reproducible, true)
  t.equal(a.uuid, b.uuid, 'the UUID is derived from the content')
  t.ok(fs.readFileSync(path.join(dir, 'a.img')).equals(fs.readFileSync(path.join(dir, 'b.img'))), 'same bytes')
})
