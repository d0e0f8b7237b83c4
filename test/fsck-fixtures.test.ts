// The fsck fixture corpus (fixtures/fsck/f_*, built by fixtures/fsck/make.sh
// with `razorfs corrupt`): each damaged image is repaired by the real
// razorfsck binary with the expected output and exit status, then checks as
// expected the second time (clean, exit 0, except where the data itself is
// lost). The layout of e2fsprogs' tests/f_* cases.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import {spawnSync} from 'node:child_process'
import {PROJECT, tmpDir} from './helpers/image.js'

const FIXTURES = path.join(PROJECT, 'fixtures/fsck')
const cases = fs.readdirSync(FIXTURES).filter((d) => d.startsWith('f_')).sort()

function razorfsck(dir: string, options: string[]): string {
  const r = spawnSync(process.execPath, [path.join(PROJECT, 'bin/razorfsck.js'), '-fy', ...options, 'test.img'], {
    cwd: dir,
    encoding: 'utf8',
    env: {...process.env, NO_COLOR: '1', CI: 'true'},
    timeout: 60_000,
  })
  return `${r.stdout}${r.stderr}Exit status is ${r.status}\n`
}

t.ok(cases.length >= 40, `${cases.length} fixture images`)

for (const c of cases) {
  t.test(c, async (t) => {
    const src = path.join(FIXTURES, c)
    const dir = tmpDir(t, c)
    fs.writeFileSync(path.join(dir, 'test.img'), zlib.gunzipSync(fs.readFileSync(path.join(src, 'image.gz'))))
    const optFile = path.join(src, 'options')
    const options = fs.existsSync(optFile) ? fs.readFileSync(optFile, 'utf8').trim().split(/\s+/) : []
    t.equal(razorfsck(dir, options), fs.readFileSync(path.join(src, 'expect.1'), 'utf8'), 'first run')
    t.equal(razorfsck(dir, options), fs.readFileSync(path.join(src, 'expect.2'), 'utf8'), 'second run')
  })
}
