// The fsck fixture corpus (fixtures/fsck/f_*, built by fixtures/fsck/make.sh
// with `razorfs corrupt`): each damaged image is repaired by the real
// razorfsck binary with the expected output and exit status, then checks as
// expected the second time (clean, exit 0, except where the data itself is
// lost). The layout of e2fsprogs' tests/f_* cases. Every kind also has a
// full-image variant (f_full-KIND): the image built with --size auto, 100%
// full, which repair must handle within the space it frees.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import {spawnSync} from 'node:child_process'
import {PROJECT, tmpDir} from './helpers/image.js'

const FIXTURES = path.join(PROJECT, 'fixtures/fsck')
const cases = fs
  .readdirSync(FIXTURES)
  .filter((d) => d.startsWith('f_'))
  .sort()

function razorfsck(dir: string, options: string[]): string {
  const r = spawnSync(process.execPath, [path.join(PROJECT, 'bin/razorfsck.js'), '-fy', ...options, 'test.img'], {
    cwd: dir,
    encoding: 'utf8',
    env: {...process.env, NO_COLOR: '1', CI: 'true'},
    timeout: 60_000,
  })
  return `${r.stdout}${r.stderr}Exit status is ${r.status}\n`
}

t.ok(cases.length >= 80, `${cases.length} fixture images`)
t.equal(cases.filter((c) => c.startsWith('f_full-')).length * 2, cases.length, 'every kind also on a full image')

for (const c of cases) {
  t.test(c, async (t) => {
    const src = path.join(FIXTURES, c)
    const dir = tmpDir(t, c)
    fs.writeFileSync(path.join(dir, 'test.img'), zlib.gunzipSync(fs.readFileSync(path.join(src, 'image.gz'))))
    const optFile = path.join(src, 'options')
    const options = fs.existsSync(optFile) ? fs.readFileSync(optFile, 'utf8').trim().split(/\s+/) : []
    if (c.startsWith('f_full-')) {
      // 100% full when fsck runs, unless the corruption itself needed free blocks (then its name file says so)
      const free = Number(fs.readFileSync(path.join(src, 'free'), 'utf8'))
      // (two kinds damage the count itself: free-count-wrong raises the superblock's by 7, used-block-free frees a used block)
      const lies = {'f_full-free-count-wrong': 7, 'f_full-used-block-free': 1}[c]
      if (!/headroom/.test(fs.readFileSync(path.join(src, 'name'), 'utf8')))
        t.equal(free, lies ?? 0, 'the damaged image has no free block')
    }
    t.equal(razorfsck(dir, options), fs.readFileSync(path.join(src, 'expect.1'), 'utf8'), 'first run')
    t.equal(razorfsck(dir, options), fs.readFileSync(path.join(src, 'expect.2'), 'utf8'), 'second run')
  })
}
