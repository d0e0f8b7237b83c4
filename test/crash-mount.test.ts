// Crash states of a real mount (issue 10, item 8): a workload of random
// file-system calls (helpers/crash-driver.mjs: create, write, append,
// truncate, chmod, rename, link, unlink, symlink, mkdir, rmdir) runs on a
// kernel FUSE mount whose server logs its device (RAZORFS_TEST_DEVICE_LOG,
// helpers/devlog.ts). fsync and fdatasync of a file, fsync of a directory and
// `razorfs sync MOUNTPOINT` (the whole tree) are acknowledgement points: the driver marks the log with what must survive
// from then on. From the image before the mount and the log, every prefix of
// the writes and sampled drops, reorderings and torn blocks of the writes in
// flight are rebuilt, recovered in-process and checked: clean, every
// acknowledged file with its exact content (and mode after fsync), every
// acknowledged entry there (or gone), symlinks with their targets, exactly
// one name of a durable file being renamed, and no state other than one a
// prefix of the writes since the last flush gives. Another acknowledgement
// kind is one entry of the driver's ACKS.
// RAZORFS_TEST_SEED replays the workload and the sampling;
// RAZORFS_TEST_CRASH_SAMPLES sets how many dropped/reordered/torn states are
// drawn, RAZORFS_TEST_CRASH_STEPS how many calls the driver makes.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import {spawnSync} from 'node:child_process'
import {MemoryDevice} from '../src/core/io/device.js'
import {Image} from '../src/core/index.js'
import {Rng} from './helpers/rng.js'
import {cli, PROJECT, tmpDir} from './helpers/image.js'
import {forceUnmount, mountUnavailable, waitFor} from './helpers/mount.js'
import {
  applyWrites,
  checkExpectations,
  CrashRun,
  describe,
  fsckCrashed,
  imageEvents,
  readDeviceLog,
  treeDigest,
  type Expect,
  type Tree,
} from './helpers/devlog.js'

const skip = mountUnavailable()
if (skip) t.plan(0, skip)

const SEED = process.env.RAZORFS_TEST_SEED ?? String(Date.now() % 1000000)
const SAMPLES = Number(process.env.RAZORFS_TEST_CRASH_SAMPLES ?? 1700)
const STEPS = Number(process.env.RAZORFS_TEST_CRASH_STEPS ?? 200)
const DRIVER = path.join(PROJECT, 'test/helpers/crash-driver.mjs')
t.comment(`seed ${SEED} (replay with RAZORFS_TEST_SEED=${SEED})`)

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

t.test('a workload on a real mount, crashed at every write', async (t) => {
  const dir = tmpDir(t, 'crash-mount')
  const image = path.join(dir, 'm.img')
  const mnt = path.join(dir, 'mnt')
  const log = path.join(dir, 'device.log')
  fs.mkdirSync(mnt)
  t.equal(cli(['mkfs', image, '--size', '8M', '-q']).status, 0, 'mkfs')
  const base = fs.readFileSync(image)
  // commit=1: the timer also commits between the calls, so crashes find half-written files too
  const m = cli(['mount', image, mnt, '-o', 'commit=1'], {env: {RAZORFS_TEST_DEVICE_LOG: log}, timeoutMs: 60000})
  t.teardown(() => {
    forceUnmount(mnt)
    waitFor(() => !fs.existsSync(`${image}.lock`), 20000)
  })
  if (m.status !== 0) {
    t.fail(`mount: ${m.stderr}`)
    return
  }
  const t0 = Date.now()
  const d = spawnSync(process.execPath, [DRIVER, mnt, log, SEED, String(STEPS)], {encoding: 'utf8', timeout: 300000})
  if (d.status !== 0) {
    t.fail(`driver: exit ${d.status} ${d.signal ?? ''}: ${d.stderr}`)
    return
  }
  const result = JSON.parse(d.stdout) as {
    acks: Record<string, number>
    ops: Record<string, number>
    model: Record<string, Expect>
  }
  t.comment(
    `driver: ${STEPS} calls in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(result.ops)}; acknowledgements ${JSON.stringify(result.acks)}`,
  )
  for (const k of ['fsync', 'fdatasync', 'dirfsync', 'sync'])
    t.ok((result.acks[k] ?? 0) >= 5, `${result.acks[k]} acknowledgements by ${k}`)
  const u = cli(['umount', mnt], {timeoutMs: 120000})
  t.equal(u.status, 0, `umount ${u.stderr}`)
  t.ok(
    waitFor(() => !fs.existsSync(`${image}.lock`), 30000),
    'the image is closed',
  )

  const final = fs.readFileSync(image)
  const finalTree = treeOf(final)
  const model = new Map(Object.entries(result.model))
  t.same(checkExpectations(finalTree, model), [], 'after umount the image holds exactly what the driver wrote')
  t.same(
    [...finalTree.keys()].filter((p) => p.startsWith('/w')).sort(),
    [...model.keys()].map((k) => k.slice(2)).sort(),
    'and nothing else',
  )

  const bs = Image.openDevice('bs', applyWrites(base, [])).info().blockSize
  const records = readDeviceLog(log)
  const events = imageEvents(records, image, bs)
  const run = new CrashRun({name: 'mount', base, events, rng: new Rng(`crash-mount:${SEED}`)})
  t.ok(
    run.marks.filter((x) => x.mark.ack).length > 20,
    `${run.writes.length} block writes, ${run.flushes.length} flushes and ${run.marks.length} marks logged`,
  )
  t.ok(
    applyWrites(base, run.writes).contents().equals(final),
    'the image before the mount plus the log is the image after umount, byte for byte',
  )
  t.equal(treeDigest(treeOf(applyWrites(base, run.writes).contents())), treeDigest(finalTree))

  const t1 = Date.now()
  run.prefixes()
  t.same(
    run.counts.failures.slice(0, 10),
    [],
    `${run.counts.prefixes} prefixes of the writes recovered and judged (${((Date.now() - t1) / 1000).toFixed(1)} s)`,
  )
  const t2 = Date.now()
  run.sampled(SAMPLES)
  t.same(
    run.counts.failures.slice(0, 10),
    [],
    `${run.counts.reordered} reordered and ${run.counts.torn} torn states recovered and judged (${((Date.now() - t2) / 1000).toFixed(1)} s)`,
  )

  // the binary's recovery on a few crashed images: the same state as the library's
  const problems = fsckCrashed(run, base, run.flushes, dir)
  t.same(problems, [], 'razorfsck recovers crashed images of the mount to the same state as the library')

  t.ok(run.total >= 2500, `${run.total} crash states of the mount checked`)
  console.log(
    `# crash-mount: ${run.total} crash states checked (${run.counts.prefixes} prefixes, ${run.counts.reordered} reordered, ${run.counts.torn} torn), ${run.counts.failures.length} failures`,
  )
})
