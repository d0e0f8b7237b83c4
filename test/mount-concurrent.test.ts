// Concurrent processes on one mount: writing different files, writing
// disjoint stripes of the same file, appending to the same file with
// O_APPEND, and creating/renaming/unlinking in the same directory. Every
// byte must land where its writer put it, and the image checks clean.
import t from 'tap'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {spawn} from 'node:child_process'
import {Image} from '../src/core/index.js'
import {cli, PROJECT, tmpDir} from './helpers/image.js'
import {mount, mountUnavailable, umount} from './helpers/mount.js'

const skip = mountUnavailable()
if (skip) t.plan(0, skip)

const WRITER = path.join(PROJECT, 'test/helpers/writer.mjs')

function writer(...args: string[]): Promise<{status: number | null; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [WRITER, ...args], {stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    c.stdout.on('data', (d) => (stdout += d))
    c.stderr.on('data', (d) => (stderr += d))
    c.on('close', (status) => resolve({status, stdout, stderr}))
  })
}

t.test('concurrent writers', async (t) => {
  const dir = tmpDir(t, 'conc')
  const image = path.join(dir, 'c.img')
  t.equal(cli(['mkfs', image, '--size', '512M', '-q']).status, 0)
  const m = path.join(dir, 'mnt')
  mount(t, image, m)
  const N = 4

  t.test('different files', async (t) => {
    const sizes = [9 << 20, 3 << 20, 20 << 20, 777777]
    const results = await Promise.all(
      sizes.map((s, k) => writer('file', path.join(m, `own${k}`), `seed${k}`, String(s))),
    )
    for (let k = 0; k < N; k++) {
      t.equal(results[k]!.status, 0, results[k]!.stderr)
      const got = crypto
        .createHash('sha256')
        .update(fs.readFileSync(path.join(m, `own${k}`)))
        .digest('hex')
      t.equal(got, results[k]!.stdout.trim(), `file ${k} (${sizes[k]} bytes) is exactly what its writer wrote`)
    }
  })

  t.test('disjoint stripes of the same file', async (t) => {
    const stripe = 48 * 1024 + 512
    const count = 400
    const f = path.join(m, 'striped')
    fs.writeFileSync(f, '')
    const results = await Promise.all(
      Array.from({length: N}, (_, k) => writer('stripe', f, String(k), String(N), String(stripe), String(count))),
    )
    t.ok(
      results.every((r) => r.status === 0),
      'all writers finished',
    )
    const data = fs.readFileSync(f)
    t.equal(data.length, stripe * count)
    let bad = -1
    for (let s = 0; s < count && bad < 0; s++) {
      const want = (s % N) + 1
      const part = data.subarray(s * stripe, (s + 1) * stripe)
      if (!part.equals(Buffer.alloc(stripe, want))) bad = s
    }
    t.equal(bad, -1, "every stripe holds its writer's bytes")
  })

  t.test('O_APPEND to the same file', async (t) => {
    const f = path.join(m, 'log')
    const count = 1500
    const results = await Promise.all(Array.from({length: N}, (_, k) => writer('append', f, String(k), String(count))))
    t.ok(
      results.every((r) => r.status === 0),
      'all appenders finished',
    )
    const lines = fs.readFileSync(f, 'utf8').split('\n').filter(Boolean)
    t.equal(lines.length, N * count, 'no record lost or overwritten')
    t.ok(
      lines.every((l) => /^writer \d record \d{6} *$/.test(l) && l.length === 31),
      'no record torn',
    )
    for (let k = 0; k < N; k++) {
      const mine = lines.filter((l) => l.startsWith(`writer ${k} `)).map((l) => Number(l.split(' ')[3]))
      t.same(
        mine,
        Array.from({length: count}, (_, i) => i),
        `writer ${k}'s records are all there, in order`,
      )
    }
  })

  t.test('create, rename and unlink in one directory', async (t) => {
    const d = path.join(m, 'churn')
    fs.mkdirSync(d)
    const count = 600
    const results = await Promise.all(Array.from({length: N}, (_, k) => writer('churn', d, String(k), String(count))))
    t.ok(
      results.every((r) => r.status === 0),
      results.map((r) => r.stderr).join(''),
    )
    const want: string[] = []
    for (let k = 0; k < N; k++)
      for (let i = 0; i < count; i++)
        if (i % 3 === 0) want.push(`${k}-r${i}`)
        else if (i % 3 === 2) want.push(`${k}-${i}`)
    t.same(fs.readdirSync(d).sort(), want.sort(), 'the directory holds exactly the surviving names')
    t.equal(fs.statSync(d).size, want.length, 'its size is its entry count')
  })

  t.test('the image after it all', async (t) => {
    t.equal(umount(m).status, 0)
    const img = Image.open(image)
    t.same(img.check({checkData: true}).problems, [], 'checks clean')
    img.close()
  })
})
