// razorfsck through the real binary: modes (-n, -p, -y), fsck(8) exit codes,
// --json records, --dry-run, the undo log, SIGINT, and util-linux's
// `fsck -t razorfs` reaching us through fsck.razorfs.
import t, {type Test} from 'tap'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {spawn, spawnSync} from 'node:child_process'
import {corrupt, fsck, Image, populate} from '../src/core/index.js'
import {PROJECT, tmpDir} from './helpers/image.js'
import {jsonResult} from './helpers/envelope.js'

const FSCK = path.join(PROJECT, 'bin/razorfsck.js')
const sha = (p: string) => crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')
function razorfsck(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [FSCK, ...args], {
    encoding: 'utf8',
    env: {...process.env, NO_COLOR: '1', CI: 'true', ...env},
    timeout: 120_000,
  })
  return {status: r.status, out: r.stdout, err: r.stderr}
}
function image(t: Test, kind?: string): string {
  const p = path.join(tmpDir(t, 'fsckbin'), 'x.img')
  const img = Image.create(p, {size: 4 << 20, blockSize: 1024})
  populate(img, path.join(PROJECT, 'fixtures/fsck/tree'))
  img.close()
  if (kind) corrupt(p, kind, {seed: 2})
  return p
}

t.test('check only: exit 0 when clean, 4 when not, never a write', async (t) => {
  t.equal(razorfsck([image(t)]).status, 0)
  t.match(razorfsck([image(t)]).out, /clean/)
  const p = image(t, 'dirent-to-missing')
  const before = sha(p)
  const r = razorfsck(['-f', p])
  t.equal(r.status, 4)
  t.match(r.out, /0x040002 DIRENT_TO_MISSING/)
  t.equal(sha(p), before, '-n changes nothing')
  t.notOk(fs.existsSync(`${p}.undo`))
})

t.test('--json: stable problem records and the exit bits', async (t) => {
  const p = image(t, 'nlink-high')
  const r = jsonResult(razorfsck(['-fn', '--json', p]).out)
  t.equal(r.exit, 4)
  const [prob] = r.problems
  t.same(
    Object.keys(prob).sort(),
    ['action', 'block', 'code', 'fixed', 'id', 'inode', 'message', 'pass', 'path', 'severity']
      .filter((k) => k in prob)
      .sort(),
  )
  t.match(prob, {code: '0x050001', id: 'NLINK_WRONG', pass: 'links', fixed: false})
  t.type(prob.inode, 'number')
  const y = jsonResult(razorfsck(['-fy', '--json', p]).out)
  t.equal(y.exit, 1)
  t.equal(y.problems[0].fixed, true)
})

t.test('preen fixes what is safe and refuses the rest', async (t) => {
  const safe = image(t, 'nlink-high')
  t.equal(razorfsck(['-fp', safe]).status, 1)
  t.equal(razorfsck(['-f', safe]).status, 0)
  const unsafe = image(t, 'dir-cycle')
  const before = sha(unsafe)
  t.equal(razorfsck(['-fa', unsafe]).status, 4)
  t.equal(sha(unsafe), before, 'preen left an unsafe problem alone')
})

t.test('repair, dry run, and revert with the undo log', async (t) => {
  const p = image(t, 'zero-leaf')
  const damaged = sha(p)
  const dry = razorfsck(['-fy', '--dry-run', p])
  t.equal(dry.status, 4)
  t.match(dry.out, /Repair plan:/)
  t.equal(sha(p), damaged, 'dry run writes nothing')
  t.equal(razorfsck(['-fy', p]).status, 1)
  t.equal(razorfsck(['-f', p]).status, 0, 'second check clean')
  t.equal(razorfsck(['--undo', `${p}.undo`, p]).status, 0)
  t.equal(sha(p), damaged, 'the undo log restores the image byte for byte')
})

t.test('a repair whose re-check is not clean is rolled back byte for byte', async (t) => {
  const p = image(t, 'zero-leaf')
  const damaged = sha(p)
  // stand-in for a buggy repair: once the repair is written, damage another part of the image
  const r = fsck(p, {mode: 'repair', force: true, afterRepair: (q) => void corrupt(q, 'free-count-wrong', {seed: 5})})
  t.ok(r.rolledBack, 'the re-check found problems, so the repair was rolled back')
  t.equal(r.exit, 4, 'exit 4: errors left uncorrected')
  t.ok(r.problems.length > 0 && r.problems.every((x) => !x.fixed), 'no problem is reported fixed')
  t.equal(sha(p), damaged, 'the image is exactly as it was before the repair')
  t.equal(razorfsck(['-fy', p]).status, 1, 'and a plain repair afterwards still works')
  t.equal(razorfsck(['-f', p]).status, 0, 'second check clean')
})

t.test('fsck(8) exit codes for usage and operational errors', async (t) => {
  const p = image(t)
  t.equal(razorfsck(['-n', '-y', p]).status, 16)
  t.equal(razorfsck(['--bogus', p]).status, 16)
  const notImage = path.join(tmpDir(t, 'notimg'), 'x')
  fs.writeFileSync(notImage, 'hello')
  const r = razorfsck([notImage])
  t.equal(r.status, 8)
  t.match(r.err, /not a RAZORFS image/)
  t.equal(razorfsck([path.join(tmpDir(t, 'missing'), 'nope.img')]).status, 8)
})

t.test("util-linux 'fsck -t razorfs' runs fsck.razorfs", async (t) => {
  const which = spawnSync('sh', ['-c', 'command -v fsck'], {encoding: 'utf8'})
  t.equal(which.status, 0, 'util-linux fsck is installed')
  const bin = tmpDir(t, 'path')
  fs.symlinkSync(FSCK, path.join(bin, 'fsck.razorfs'))
  const p = image(t, 'nlink-high')
  const r = spawnSync('fsck', ['-t', 'razorfs', '-f', '-p', p], {
    encoding: 'utf8',
    env: {...process.env, PATH: `${bin}:${process.env.PATH}`, NO_COLOR: '1'},
  })
  t.equal(r.status, 1, r.stderr)
  t.match(r.stdout, /IMAGE WAS MODIFIED/)
})

t.test('SIGINT: exit 32', async (t) => {
  const p = path.join(tmpDir(t, 'sigint'), 'big.img')
  const img = Image.create(p, {size: 256 << 20})
  for (let d = 0; d < 20; d++) {
    const dir = img.mkdir(1, `d${d}`, {})
    for (let f = 0; f < 1500; f++) img.create(dir, `f${f}`, {})
  }
  img.close()
  const child = spawn(process.execPath, [FSCK, '-f', '--check-data', p], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {...process.env, CI: 'true'},
  })
  let err = ''
  child.stderr.on('data', (d) => (err += d))
  let out = ''
  child.stdout.on('data', (d) => {
    out += d
    if (out.includes('Pass 1')) child.kill('SIGINT')
  })
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
  t.equal(code, 32)
  t.match(err, /cancelled/)
})
