// populate's hooks: a destination directory, excluded entries, rewritten attributes.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import {Image, populate} from '../src/core/index.js'
import {tmpDir} from './helpers/image.js'

t.test('into, exclude and mapAttrs', async (t) => {
  const dir = tmpDir(t, 'popopts')
  const src = path.join(dir, 'src')
  fs.mkdirSync(path.join(src, 'keep/skip-me'), {recursive: true})
  fs.writeFileSync(path.join(src, 'keep/a.txt'), 'a')
  fs.writeFileSync(path.join(src, 'keep/skip-me/b.txt'), 'b')
  fs.writeFileSync(path.join(src, 'c.log'), 'c')
  const img = Image.create(path.join(dir, 'p.img'), {size: 16 << 20})
  const opt = img.mkdir(1, 'opt', {})
  const seen: string[] = []
  populate(img, src, {
    into: opt,
    exclude: (rel, type) => rel.toString().endsWith('skip-me') || (type === 'file' && rel.toString().endsWith('.log')),
    mapAttrs: (a, rel) => {
      seen.push(rel.toString())
      return {...a, uid: 0, gid: 0, mtime: {sec: 1000, nsec: 0}}
    },
  })
  t.same(
    img
      .readdir(opt)
      .map((e) => e.name.toString())
      .sort(),
    ['keep'],
  )
  t.same(
    img.readdir(img.resolve('/opt/keep')).map((e) => e.name.toString()),
    ['a.txt'],
  )
  t.equal(img.stat(img.resolve('/opt/keep/a.txt')).mtime.sec, 1000)
  t.equal(img.stat(opt).mtime.sec, 1000, 'the destination takes the tree root attributes')
  t.same(seen.sort(), ['', 'keep', 'keep/a.txt'])
  img.close()
})
