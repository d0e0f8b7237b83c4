// Crash states of the real CLI (issue 10, item 8): `razorfs cp` and the
// editing commands run through bin/run.js with the device log on
// (RAZORFS_TEST_DEVICE_LOG, see helpers/devlog.ts). Each command's successful
// exit is an acknowledgement point (so is each line of `cp -v`: that file is
// durable). From the image before the workload and the log, every prefix of
// the writes and sampled drops, reorderings and torn blocks of the writes in
// flight are rebuilt, recovered in-process and checked: clean, every
// acknowledged command's result there, and
// - during a command that is one journaled operation (mkdir, touch, chmod,
//   chown, truncate, ln, mv, xattr set/rm, rm of a file): exactly the state
//   before it or after it;
// - during one that is several (cp, mkdir -p, -R, rm -r): only entries of the
//   state before or after it, everything in both still there, everything it
//   does not change unchanged, files replaced with -f either old or new, and
//   every file `cp -v` reported there with its content.
// A sample of crashed images is also recovered by the razorfsck binary.
// RAZORFS_TEST_SEED replays the sampling; RAZORFS_TEST_CRASH_SAMPLES sets how
// many dropped/reordered/torn states are drawn.
import t from 'tap'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {spawn} from 'node:child_process'
import {MemoryDevice} from '../src/core/io/device.js'
import {Image} from '../src/core/index.js'
import {Rng} from './helpers/rng.js'
import {BIN, cli, cliUnavailable, PROJECT, tmpDir} from './helpers/image.js'
import {
  appendMark,
  applyWrites,
  CrashRun,
  describe,
  fsckCrashed,
  imageEvents,
  readDeviceLog,
  treeDigest,
  type Expect,
  type Tree,
} from './helpers/devlog.js'

const skip = cliUnavailable()
if (skip) t.plan(0, skip)

const SEED = process.env.RAZORFS_TEST_SEED ?? String(Date.now() % 1000000)
const SAMPLES = Number(process.env.RAZORFS_TEST_CRASH_SAMPLES ?? 1700)
t.comment(`seed ${SEED} (replay with RAZORFS_TEST_SEED=${SEED})`)
const rng = new Rng(`crash-cli:${SEED}`)
const LOG_ENV = 'RAZORFS_TEST_DEVICE_LOG'

interface Step {
  args: string[]
  /** One journaled operation: every crash state is the state before or after it. */
  atomic: boolean
  input?: Buffer
  /** Paths replaced whole (-f): old or new in every crash state. */
  whole?: string[]
}

interface Ran {
  status: number | null
  stdout: string
  stderr: string
}

/** Run the binary with the device log on; each stdout line goes to `onLine` as it comes. */
function run(args: string[], log: string, onLine: (l: string) => void, input?: Buffer): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: PROJECT,
      stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: {...process.env, NO_COLOR: '1', FORCE_COLOR: '0', CI: 'true', NODE_OPTIONS: '', [LOG_ENV]: log},
    })
    let out = ''
    let err = ''
    let pending = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      pending += d.toString()
      let nl
      while ((nl = pending.indexOf('\n')) >= 0) {
        onLine(pending.slice(0, nl))
        pending = pending.slice(nl + 1)
      }
    })
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    child.on('error', reject)
    child.on('close', (status) => resolve({status, stdout: out, stderr: err}))
    if (input) child.stdin!.end(input)
  })
}

function treeOf(bytes: Buffer): Tree {
  const dev = new MemoryDevice(0)
  dev.write(0, bytes)
  const img = Image.openDevice('real', dev)
  try {
    return describe(img)
  } finally {
    img.close()
  }
}

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex')

/** A small host tree: nested directories, files from empty to 300 KiB (random and repetitive), symlinks, a hard link. */
function hostTree(root: string, r: Rng): void {
  const dirs = ['', 'd1', 'd1/d2', 'd3', 'd3/d4']
  for (const d of dirs) fs.mkdirSync(path.join(root, d), {recursive: true})
  for (let i = 0; i < 24; i++) {
    const d = i < 16 ? '' : dirs[1 + (i % 4)]!
    const size = i === 0 ? 0 : i % 7 === 0 ? r.int(60000, 300000) : r.int(1, 9000)
    const body = i % 2 ? r.bytes(size) : Buffer.from(`file ${i} `.repeat(size).slice(0, size))
    fs.writeFileSync(path.join(root, d, `f${i}`), body, {mode: 0o600 + (i % 8) * 0o11})
  }
  fs.writeFileSync(path.join(root, 'big'), r.bytes(200000))
  fs.symlinkSync('f1', path.join(root, 'link'))
  fs.symlinkSync('../d3/f3', path.join(root, 'd1', 'up'))
  fs.linkSync(path.join(root, 'f5'), path.join(root, 'd3', 'f5-hard'))
}

t.test('cp and the editing commands through the binary, crashed at every write', async (t) => {
  const dir = tmpDir(t, 'crash-cli')
  const host = path.join(dir, 'tree')
  hostTree(host, new Rng('crash-cli-tree'))
  const image = path.join(dir, 'w.img')
  const log = path.join(dir, 'device.log')
  t.equal(cli(['mkfs', image, '--size', '4M', '-q']).status, 0, 'mkfs')
  const base = fs.readFileSync(image)
  const I = (p: string) => `${image}:${p}`
  const steps: Step[] = [
    {args: ['cp', '-a', '-v', '--commit', '0', host, I('/t1')], atomic: false},
    {args: ['cp', '-r', '-v', host, I('/t2')], atomic: false},
    {args: ['cp', '-f', path.join(host, 'big'), I('/t1/f2')], atomic: false, whole: ['/t1/f2']},
    {args: ['cp', '-', I('/stdin.txt')], atomic: false, input: Buffer.from('from standard input\n'.repeat(300))},
    {args: ['mkdir', I('/e')], atomic: true},
    {args: ['mkdir', '-p', I('/e/a/b/c')], atomic: false},
    {args: ['touch', I('/e/new')], atomic: true},
    {args: ['chmod', '600', I('/t1/f1')], atomic: true},
    {args: ['chmod', '-R', 'go-rwx', I('/t2/d1')], atomic: false},
    {args: ['chown', '1000:1000', I('/t1/f3')], atomic: true},
    {args: ['chown', '-R', '7:8', I('/t1/d3')], atomic: false},
    {args: ['touch', '-d', '2020-01-01 00:00:00 UTC', I('/t1/f4')], atomic: true},
    {args: ['truncate', '-s', '100K', I('/t1/f6')], atomic: true},
    {args: ['truncate', '-s', '10', I('/t1/big')], atomic: true},
    {args: ['ln', I('/t1/d1/f16'), I('/e/hard')], atomic: true},
    {args: ['ln', '-s', '/t1/f5', I('/e/sym')], atomic: true},
    {args: ['ln', '-sf', '/t2', I('/e/sym')], atomic: true},
    {args: ['mv', I('/t1/f8'), I('/e/moved')], atomic: true},
    {args: ['mv', I('/e/a'), I('/t2/')], atomic: true},
    {args: ['mv', I('/t1/f9'), I('/t1/f10')], atomic: true},
    {args: ['xattr', 'set', I('/t1/f11'), 'user.k', 'value'], atomic: true},
    {args: ['xattr', 'set', I('/t1/f11'), 'user.big', 'x'.repeat(3000)], atomic: true},
    {args: ['xattr', 'rm', I('/t1/f11'), 'user.k'], atomic: true},
    {args: ['rm', I('/t1/f12')], atomic: true},
    {args: ['rm', '-r', I('/t2/d1')], atomic: false},
    {args: ['truncate', '-s', '0', I('/t2/big')], atomic: true},
  ]
  const states: Tree[] = [treeOf(base)]
  const cpAcks = new Set<string>()
  let stepAcks: string[] = []
  const t0 = Date.now()
  for (const [k, s] of steps.entries()) {
    const r = await run(
      s.args,
      log,
      (line) => {
        // cp -v: 'SOURCE' -> 'IMAGE:/DEST', printed once that entry is durable
        const m = /^'(.*)' -> '.*\.img:(\/.*)'$/.exec(line)
        if (!m) return
        const st = fs.lstatSync(m[1]!)
        const x: Expect = st.isFile()
          ? {type: 'file', sha: sha(fs.readFileSync(m[1]!))}
          : st.isDirectory()
            ? {type: 'dir'}
            : {type: 'symlink', target: fs.readlinkSync(m[1]!)}
        appendMark(log, {ack: 'cp -v', set: {[`c:${m[2]}`]: x}})
        cpAcks.add(m[2]!)
        stepAcks.push(`c:${m[2]}`)
      },
      s.input,
    )
    if (r.status !== 0) {
      t.fail(`step ${k} (${s.args.slice(0, 3).join(' ')}): exit ${r.status}: ${r.stderr}`)
      return
    }
    // the exit acknowledges the command: from here on the image holds its result (which the
    // predicate checks; later commands may change what cp -v acknowledged)
    appendMark(log, {ack: 'exit', step: k, forget: stepAcks})
    stepAcks = []
    states.push(treeOf(fs.readFileSync(image)))
  }
  t.comment(`${steps.length} commands in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  t.ok(cpAcks.size > 40, `cp -v acknowledged ${cpAcks.size} entries one by one`)
  const final = fs.readFileSync(image)
  const bs = Image.openDevice('bs', applyWrites(base, [])).info().blockSize

  const records = readDeviceLog(log)
  t.ok(
    records.some((r) => r.kind === 'O' && r.data.toString() === image),
    'the commands logged their device',
  )
  const events = imageEvents(records, image, bs)
  const exitAt: number[] = []
  events.forEach((e, i) => e.kind === 'M' && e.mark.ack === 'exit' && exitAt.push(i))
  t.equal(exitAt.length, steps.length)

  /** During step j (after the exit of step j-1, up to its own): the states allowed. */
  const predicate = (tree: Tree, cut: number): string[] => {
    let j = 0
    while (j < exitAt.length && exitAt[j]! < cut) j++
    const before = states[j]!
    const after = states[Math.min(j + 1, states.length - 1)]!
    const d = treeDigest(tree)
    if (d === treeDigest(before) || d === treeDigest(after)) return []
    const step = steps[j]
    const what = step ? step.args.slice(0, 3).join(' ') : 'after the last command'
    if (!step || step.atomic) return [`during '${what}': neither the state before nor after it`]
    const bad: string[] = []
    for (const [p, e] of tree) {
      const b = before.get(p)
      const a = after.get(p)
      if (!b && !a) bad.push(`'${what}': ${p} is in neither the state before nor after it`)
      else if (e.type !== b?.type && e.type !== a?.type) bad.push(`'${what}': ${p} is a ${e.type}`)
    }
    for (const [p, b] of before) {
      const a = after.get(p)
      if (!a) continue
      const e = tree.get(p)
      if (!e) bad.push(`'${what}': ${p} is missing (it is there before and after)`)
      else if (a.key === b.key && e.key !== b.key)
        bad.push(`'${what}': ${p} changed, which the command does not change`)
    }
    for (const p of step.whole ?? []) {
      const k = tree.get(p)?.key
      if (k !== before.get(p)?.key && k !== after.get(p)?.key)
        bad.push(`'${what}': ${p} is neither the old file nor the new one`)
    }
    return bad
  }

  const run_ = new CrashRun({name: 'cli', base, events, rng, predicate})
  t.ok(
    run_.writes.length > 300,
    `${run_.writes.length} block writes and ${run_.flushes.length} flushes logged (${events.length} events with the marks)`,
  )
  t.ok(
    applyWrites(base, run_.writes).contents().equals(final),
    'the image before the workload plus the log is the image after it, byte for byte',
  )
  t.equal(treeDigest(states[states.length - 1]!), treeDigest(treeOf(final)))

  const t1 = Date.now()
  run_.prefixes()
  t.same(
    run_.counts.failures.slice(0, 10),
    [],
    `${run_.counts.prefixes} prefixes of the writes recovered and judged (${((Date.now() - t1) / 1000).toFixed(1)} s)`,
  )
  const t2 = Date.now()
  run_.sampled(SAMPLES)
  t.same(
    run_.counts.failures.slice(0, 10),
    [],
    `${run_.counts.reordered} reordered and ${run_.counts.torn} torn states recovered and judged (${((Date.now() - t2) / 1000).toFixed(1)} s)`,
  )

  // the binary's recovery: razorfsck on crashed images halfway through commands
  const fsckDir = path.join(dir, 'fsck')
  fs.mkdirSync(fsckDir)
  const mids = run_.flushes.filter((f) => !exitAt.includes(f + 1))
  const problems = fsckCrashed(run_, base, mids, fsckDir)
  t.same(problems, [], 'razorfsck recovers crashed images to the same state as the library, clean')

  const total = run_.total
  t.ok(total >= 2500, `${total} crash states of cp and the editing commands checked`)
  console.log(
    `# crash-cli: ${total} crash states checked (${run_.counts.prefixes} prefixes, ${run_.counts.reordered} reordered, ${run_.counts.torn} torn), ${run_.counts.failures.length} failures`,
  )
})
