/**
 * Interrupted copies into an image, through the real binary:
 * - SIGKILL at random moments of `razorfs cp -r -f -v`: every time, the image
 *   recovers, checks clean, and every file cp reported done (its -v lines)
 *   is complete;
 * - SIGINT: cp stops between two files, exits 130, closes the image cleanly
 *   (nothing to recover), and no partly written file is left;
 * - a full image: a one-line message naming the free space, exit 1, and an
 *   image that checks clean with every reported file complete.
 */
import t from 'tap'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {spawn} from 'node:child_process'
import {Image} from '../src/core/index.js'
import {Rng} from './helpers/rng.js'
import {BIN, cli, cliUnavailable, PROJECT, tmpDir} from './helpers/image.js'

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex')

function makeTree(root: string, rng: Rng, dirs: number, files: number): void {
  for (let d = 0; d < dirs; d++) {
    const dir = path.join(root, `dir${String(d).padStart(2, '0')}`)
    fs.mkdirSync(dir, {recursive: true})
    for (let f = 0; f < files; f++) {
      const size = rng.chance(0.02) ? rng.int(500_000, 3_000_000) : rng.int(0, 16_000)
      fs.writeFileSync(
        path.join(dir, `file${f}`),
        rng.chance(0.5) ? rng.bytes(size) : Buffer.alloc(size, 65 + (f % 26)),
      )
    }
  }
}

/**
 * Run razorfs; once it has reported its first file done (a -v line), wait
 * `afterMs` more and send `signal`, so the signal lands in the middle of the
 * copy however slowly the process starts.
 */
function runAndSignal(
  args: string[],
  afterMs: number,
  signal: NodeJS.Signals,
  afterLines?: number,
): Promise<{code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: PROJECT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {...process.env, CI: 'true', NO_COLOR: '1', NODE_OPTIONS: ''},
    })
    let stdout = ''
    let stderr = ''
    let timer: NodeJS.Timeout | undefined
    let sent = false
    child.stdout.on('data', (d) => {
      stdout += d
      if (afterLines !== undefined) {
        // by progress, not by time: the copy may be fast enough to finish within any fixed delay
        if (!sent && stdout.split('\n').length > afterLines) {
          sent = true
          child.kill(signal)
        }
      } else timer ??= setTimeout(() => child.kill(signal), afterMs)
    })
    child.stderr.on('data', (d) => (stderr += d))
    child.on('exit', (code, sig) => {
      clearTimeout(timer)
      // let the pipes drain
      setImmediate(() => resolve({code, signal: sig, stdout, stderr}))
    })
  })
}

/** Host source path → image path for each line "'SRC' -> 'IMG:/DST'" of cp -v. */
function reported(stdout: string, image: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of stdout.split('\n')) {
    const m = /^'(.*)' -> '(.*)'$/.exec(line)
    if (m && m[2]!.startsWith(`${image}:`)) out.set(m[1]!, m[2]!.slice(image.length + 1))
  }
  return out
}

/** Problems with the reported files: missing or different in the image. */
function verify(img: Image, files: Map<string, string>): string[] {
  const bad: string[] = []
  for (const [src, dst] of files) {
    const st = fs.statSync(src)
    if (!st.isFile()) continue
    try {
      const got = img.readFile(img.resolve(dst))
      if (sha(got) !== sha(fs.readFileSync(src))) bad.push(`${dst}: content differs`)
    } catch (e) {
      bad.push(`${dst}: ${(e as Error).message}`)
    }
  }
  return bad
}

function main(): void {
  t.test('SIGKILL during cp: the image recovers and every reported file is complete', async (t) => {
    const dir = tmpDir(t, 'cp-kill')
    const tree = path.join(dir, 'tree')
    const rng = new Rng('cp-kill')
    makeTree(tree, rng, 40, 100)
    const image = path.join(dir, 'k.img')
    t.equal(cli(['mkfs', image, '--size', '256M', '-q']).status, 0)
    const done = new Map<string, string>()
    const problems: string[] = []
    let kills = 0
    let recoveries = 0
    let finished = false
    for (let round = 0; round < 5 && !finished; round++) {
      const r = await runAndSignal(
        ['cp', '-r', '-f', '-v', '--commit', '0.05', tree, `${image}:/`],
        0,
        'SIGKILL',
        rng.int(1, 3000),
      )
      if (r.signal === 'SIGKILL') kills++
      else if (r.code === 0) finished = true
      else problems.push(`round ${round}: exit ${r.code}: ${r.stderr}`)
      for (const [s, d] of reported(r.stdout, image)) done.set(s, d)
      const img = Image.open(image, {readOnly: false})
      if (img.recovery) recoveries++
      const c = img.check({checkData: true})
      if (c.problems.length) problems.push(`round ${round}: ${c.problems.map((p) => p.message).join('; ')}`)
      for (const b of verify(img, done)) problems.push(`round ${round}: ${b}`)
      img.close()
    }
    t.ok(kills >= 3, `${kills} copies killed, ${recoveries} recoveries, ${done.size} entries reported done`)
    t.ok(recoveries >= kills, 'each kill left the image open for writing, and it was recovered')
    t.ok(done.size > 0, 'some files were reported done before a kill')
    t.same(problems, [], 'each recovered image checks clean and holds every reported file complete')
    if (!finished) {
      const r = cli(['cp', '-r', '-f', tree, `${image}:/`])
      t.equal(r.status, 0, 'a last copy runs to the end')
    }
    const img = Image.open(image)
    const all = new Map<string, string>()
    for (const d of fs.readdirSync(tree))
      for (const f of fs.readdirSync(path.join(tree, d))) all.set(path.join(tree, d, f), `/tree/${d}/${f}`)
    t.same(verify(img, all), [], 'after the last copy every file is there')
    img.close()
  })

  t.test('SIGINT stops cleanly between two files', async (t) => {
    const dir = tmpDir(t, 'cp-int')
    const tree = path.join(dir, 'tree')
    makeTree(tree, new Rng('cp-int'), 40, 100)
    const image = path.join(dir, 'i.img')
    // room for the whole tree (about 90 MiB): the copy must stop because of the signal, never because the image filled up
    t.equal(cli(['mkfs', image, '--size', '512M', '-q']).status, 0)
    // signal by progress (after 300 reported files), not by time: a fast machine copies the whole tree within any
    // fixed delay; --commit 0.05 makes cp report files as it goes rather than once a second
    const r = await runAndSignal(['cp', '-r', '-v', '--commit', '0.05', tree, `${image}:/`], 0, 'SIGINT', 300)
    if (r.code === 0) {
      t.comment('the copy finished before SIGINT arrived; nothing to check')
      return
    }
    t.equal(r.code, 130, `exit 130 after SIGINT (stderr: ${r.stderr.trim()})`)
    t.match(r.stderr, /interrupted by SIGINT: \d+ files? copied and complete/, 'says what was copied')
    t.notOk(fs.existsSync(`${image}.lock`), 'the writer lock is released')
    const img = Image.open(image, {readOnly: false})
    t.notOk(img.recovery, 'the image was closed cleanly: nothing to recover')
    t.same(img.check({checkData: true}).problems, [], 'and checks clean')
    const rep = reported(r.stdout, image)
    t.same(verify(img, rep), [], `the ${rep.size} reported entries are complete`)
    // no partly written file: whatever is in the image under a final name is complete
    const present = new Map<string, string>()
    const top = img.resolve('/tree')
    for (const d of img.readdir(top))
      for (const f of img.readdir(d.ino))
        present.set(path.join(tree, d.name.toString(), f.name.toString()), `/tree/${d.name}/${f.name}`)
    t.same(verify(img, present), [], `all ${present.size} files in the image are complete (none left half-written)`)
    img.close()
  })

  t.test('a full image: a clear message, a consistent image', async (t) => {
    const dir = tmpDir(t, 'cp-full')
    const src = path.join(dir, 'src')
    fs.mkdirSync(src)
    const rng = new Rng('cp-full')
    for (let i = 0; i < 12; i++)
      fs.writeFileSync(path.join(src, `r${String(i).padStart(2, '0')}`), rng.bytes(1_000_000))
    const image = path.join(dir, 'small.img')
    t.equal(cli(['mkfs', image, '--size', '8M', '-q']).status, 0)
    const r = cli(['cp', '-r', '-v', src, `${image}:/`])
    t.equal(r.status, 1, 'exit 1')
    const lines = r.stderr.trim().split('\n')
    t.equal(lines.length, 1, `one line on stderr: ${r.stderr}`)
    t.match(
      lines[0],
      /^razorfs: .*small\.img: no space left in the image.*\d+(\.\d)? (B|KiB|MiB) free/,
      'naming the image and its free space',
    )
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
    const img = Image.open(image, {readOnly: false})
    t.notOk(img.recovery, 'closed cleanly')
    t.same(img.check({checkData: true}).problems, [], 'the image checks clean')
    const rep = reported(r.stdout, image)
    t.ok(rep.size > 0, `${rep.size} files reported before it filled up`)
    t.same(verify(img, rep), [], 'every reported file is complete')
    const present = img.readdir(img.resolve('/src')).map((e) => e.name.toString())
    const expected = [...rep.values()].map((p) => p.split('/').pop()).filter((n) => n !== 'src')
    t.same(present.sort(), expected.sort(), 'the file that did not fit is not left half-written')
    img.close()
  })
}

const why = cliUnavailable()
if (why) t.fail(`cannot run the CLI: ${why}`)
else main()
