// A real `razorfs cp -r -f -v` copying a tree of some 9,000 files into an
// image is killed with SIGKILL at random moments, at least 20 times; every
// time, the image recovers, checks clean, and every file cp had reported done
// (its -v line, printed only once the commit holding the file is durable) is
// intact. Then the single writer lock: a second writer is refused, a dead
// writer's lock is taken over.
import t from 'tap'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {spawn} from 'node:child_process'
import {Image, isRazorError} from '../src/core/index.js'
import {Rng} from './helpers/rng.js'
import {BIN, PROJECT, tmpDir} from './helpers/image.js'

const DIRS = 45
const FILES = 200

function makeTree(root: string, rng: Rng): void {
  for (let d = 0; d < DIRS; d++) {
    const dir = path.join(root, `dir${d}`)
    fs.mkdirSync(dir, {recursive: true})
    for (let f = 0; f < FILES; f++) {
      const size = rng.chance(0.01) ? rng.int(300000, 2000000) : rng.int(0, 12000)
      fs.writeFileSync(path.join(dir, `file${f}`), rng.chance(0.5) ? rng.bytes(size) : Buffer.alloc(size, f))
    }
  }
}

/**
 * Run the copy and SIGKILL it once it has reported `afterLines` entries done:
 * by progress, not by time, so the kill lands inside the copy on a machine of
 * any speed (--commit 0.05 makes cp report as it goes). Returns the image
 * paths reported done, and whether the copy ran to its end first.
 */
function runAndKill(image: string, tree: string, afterLines: number): Promise<{reported: string[]; finished: boolean}> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'cp', '-r', '-f', '-v', '--commit', '0.05', tree, `${image}:/`], {
      cwd: PROJECT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {...process.env, CI: 'true', NO_COLOR: '1', NODE_OPTIONS: ''},
    })
    let out = ''
    let sent = false
    child.stdout.on('data', (d) => {
      out += d
      if (!sent && out.split('\n').length > afterLines) {
        sent = true
        child.kill('SIGKILL')
      }
    })
    child.on('exit', (code, signal) => {
      setImmediate(() => {
        const reported: string[] = []
        for (const line of out.split('\n')) {
          const m = /^'.*' -> '(.*)'$/.exec(line)
          if (m && m[1]!.startsWith(`${image}:`)) reported.push(m[1]!.slice(image.length + 1))
        }
        resolve({reported, finished: signal === null && code === 0})
      })
    })
  })
}

t.test('SIGKILL during razorfs cp: recovery keeps every file reported done', async (t) => {
  const dir = tmpDir(t, 'kill')
  const tree = path.join(dir, 'tree')
  const rng = new Rng('journal-kill')
  makeTree(tree, rng)
  const sums = new Map<string, string>()
  for (let d = 0; d < DIRS; d++)
    for (let f = 0; f < FILES; f++)
      sums.set(
        `/tree/dir${d}/file${f}`,
        crypto
          .createHash('sha256')
          .update(fs.readFileSync(path.join(tree, `dir${d}`, `file${f}`)))
          .digest('hex'),
      )
  const image = path.join(dir, 'k.img')
  Image.create(image, {size: 512 << 20, journalBlocks: 1024}).close()
  let kills = 0
  let recovered = 0
  let reportedTotal = 0
  const problems: string[] = []
  for (let round = 0; round < 24; round++) {
    const {reported, finished} = await runAndKill(image, tree, rng.int(1, DIRS * FILES - 500))
    if (!finished) kills++
    reportedTotal += reported.length
    const img = Image.open(image, {readOnly: false})
    if (img.recovery) recovered++
    const c = img.check({checkData: true})
    if (c.problems.length) problems.push(`round ${round}: ${c.problems.map((p) => p.message).join('; ')}`)
    // with -f each round replaces the files it reports: check this round's
    for (const p of reported) {
      const sum = sums.get(p)
      if (!sum) continue // a directory
      try {
        const got = crypto
          .createHash('sha256')
          .update(img.readFile(img.resolve(p)))
          .digest('hex')
        if (got !== sum) problems.push(`round ${round}: ${p} differs`)
      } catch (e) {
        problems.push(`round ${round}: ${p}: ${(e as Error).message}`)
      }
    }
    img.close()
  }
  t.ok(
    kills >= 20,
    `${kills} razorfs cp processes killed with SIGKILL, ${recovered} recoveries, ${reportedTotal} files reported done`,
  )
  t.ok(recovered >= kills - 2, 'nearly every kill left the image open for writing, and it was recovered')
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
  fs.writeFileSync(
    `${image}.lock`,
    JSON.stringify({
      pid: 2 ** 22 + 12345,
      host: (await import('node:os')).hostname(),
      command: 'razorfs cp (killed)',
      since: 'earlier',
    }),
  )
  const b = Image.open(image, {readOnly: false})
  t.ok(b, 'stale lock taken over')
  b.close()
})
