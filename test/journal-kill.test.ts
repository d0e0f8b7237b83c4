// A real process copying a tree into an image through the core API is killed
// with SIGKILL at random moments; every time, the image recovers, checks
// clean, and every file the process reported done is intact. Then the single
// writer lock: a second writer is refused, a dead writer's lock is taken over.
import t from 'tap'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {spawn} from 'node:child_process'
import {Image, isRazorError} from '../src/core/index.js'
import {Rng} from './helpers/rng.js'
import {PROJECT, tmpDir} from './helpers/image.js'

const COPIER = path.join(PROJECT, 'test/helpers/copier.mjs')

function makeTree(root: string, rng: Rng): void {
  // about 9,000 files: a full copy takes far longer than the 24 short runs below
  for (let d = 0; d < 45; d++) {
    const dir = path.join(root, `dir${d}`)
    fs.mkdirSync(dir, {recursive: true})
    for (let f = 0; f < 200; f++) {
      const size = rng.chance(0.01) ? rng.int(300000, 2000000) : rng.int(0, 12000)
      fs.writeFileSync(path.join(dir, `file${f}`), rng.chance(0.5) ? rng.bytes(size) : Buffer.alloc(size, f))
    }
  }
}

function runAndKill(image: string, tree: string, afterMs: number): Promise<string[]> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [COPIER, image, tree], {stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), afterMs)
    child.on('exit', () => {
      clearTimeout(timer)
      resolve(out.split('\n').filter((l) => l.startsWith('done ') || l === 'finished'))
    })
  })
}

t.test('SIGKILL during a copy: recovery keeps every file reported done', async (t) => {
  const dir = tmpDir(t, 'kill')
  const tree = path.join(dir, 'tree')
  const rng = new Rng('journal-kill')
  makeTree(tree, rng)
  const image = path.join(dir, 'k.img')
  Image.create(image, {size: 512 << 20, journalBlocks: 1024}).close()
  const done = new Map<string, string>()
  let kills = 0
  let recovered = 0
  const problems: string[] = []
  for (let round = 0; round < 24; round++) {
    const lines = await runAndKill(image, tree, rng.int(250, 900))
    if (!lines.includes('finished')) kills++
    for (const l of lines) if (l.startsWith('done ')) done.set(l.split(' ')[1]!, l.split(' ')[2]!)
    const img = Image.open(image, {readOnly: false})
    if (img.recovery) recovered++
    const c = img.check({checkData: true})
    if (c.problems.length) problems.push(`round ${round}: ${c.problems.map((p) => p.message).join('; ')}`)
    for (const [rel, sha] of done) {
      try {
        const got = crypto.createHash('sha256').update(img.readFile(img.resolve(rel))).digest('hex')
        if (got !== sha) problems.push(`round ${round}: ${rel} differs`)
      } catch (e) {
        problems.push(`round ${round}: ${rel}: ${(e as Error).message}`)
      }
    }
    img.close()
    if (lines.includes('finished')) break
  }
  t.ok(kills >= 20, `${kills} processes killed with SIGKILL, ${recovered} recoveries, ${done.size} files reported done`)
  t.same(problems, [], 'every recovered image checks clean and keeps every reported file')
})

t.test('one writer at a time', async (t) => {
  const dir = tmpDir(t, 'lock')
  const image = path.join(dir, 'l.img')
  const a = Image.create(image, {size: 16 << 20})
  let err: unknown
  try {
    Image.open(image, {readOnly: false})
  } catch (e) {
    err = e
  }
  t.ok(isRazorError(err, 'EBUSY'), 'a second writer is refused')
  t.match((err as Error).message, new RegExp(`pid ${process.pid}`), 'the error names the holder')
  const ro = Image.open(image)
  t.ok(ro, 'readers are not blocked')
  ro.close()
  a.close()
  t.notOk(fs.existsSync(`${image}.lock`), 'close releases the lock')
  // a lock left by a process that no longer exists is taken over
  fs.writeFileSync(`${image}.lock`, JSON.stringify({pid: 2 ** 22 + 12345, host: (await import('node:os')).hostname(), command: 'razorfs cp (killed)', since: 'earlier'}))
  const b = Image.open(image, {readOnly: false})
  t.ok(b, 'stale lock taken over')
  b.close()
})
