// Operations that commit in steps (FORMAT.md §9): a shrinking truncate and
// the unlink of a big file with the smallest journal (64 blocks). A crash
// after every flush of the recorded run: recovery gives a clean image in
// which the truncated file is its old self cut at a cluster boundary (its
// data below intact), and the unlinked file is either still there, whole, or
// gone with every block free again (the orphan list finishes the job).
import t from 'tap'
import {MemoryDevice} from '../src/core/io/device.js'
import {normalizeCreateOptions} from '../src/core/image/create-options.js'
import {Image} from '../src/core/index.js'
import {crashImage, RecordingDevice} from './helpers/crash.js'

const BS = 1024
const CS = 64 * 1024
// each bitmap block covers 7,808 blocks (7.6 MiB at 1 KiB): freeing 140 MiB
// touches 19 of them, more than a transaction of the 64-block journal takes
// before committing (16 blocks)
const FILE = 140 << 20

/** Never an all-zero block, different in every cluster. */
const content = (seed: string, n: number): Buffer => {
  const out = Buffer.alloc(n)
  for (let o = 0; o < n; o += CS) out.fill(`${seed}${o} `, o, Math.min(n, o + CS))
  return out
}

const baseDev = new MemoryDevice(0)
const fresh = Image.format(
  'base',
  baseDev,
  normalizeCreateOptions({
    size: 300 << 20,
    blockSize: BS,
    clusterSize: CS,
    journalBlocks: 64,
    compression: {algorithm: 'none', level: 0},
    time: {sec: 1700000000, nsec: 0},
    uuid: '11111111-2222-3333-4444-555555555566',
  }),
)
const a = content('a', FILE)
const b = content('b', FILE)
for (const [name, data] of [
  ['a', a],
  ['b', b],
] as const) {
  const ino = fresh.create(1, name, {mode: 0o644})
  for (let o = 0; o < data.length; o += 16 * CS) fresh.write(ino, o, data.subarray(o, o + 16 * CS))
}
const freeBefore = fresh.info().freeBlocks
fresh.close()
const base = Buffer.from(baseDev.contents())

const rec = new RecordingDevice(crashImage(base, []), BS)
const img = Image.openDevice('work', rec, {readOnly: false})
const c0 = img.commitCount
img.truncate(img.resolve('/a'), 1000)
const c1 = img.commitCount
img.unlink(1, 'b')
const c2 = img.commitCount
img.close()

t.ok(c1 - c0 >= 1, `the truncate committed ${c1 - c0} times`)
t.ok(c2 - c1 >= 1, `the unlink committed ${c2 - c1} times`)

t.test('a crash after any flush recovers to a clean, whole state', async (t) => {
  let states = 0
  const cut = new Set<number>()
  for (const n of [0, ...rec.flushes]) {
    const dev = crashImage(base, rec.writes.slice(0, n))
    const r = Image.openDevice(`crash ${n}`, dev, {readOnly: false})
    const check = r.check()
    if (check.problems.length) t.fail(`after write ${n}: ${check.problems.map((p) => p.message).join('; ')}`)
    const sa = r.stat(r.resolve('/a'))
    const aData = r.readFile(r.resolve('/a'))
    if (!(sa.size === 1000 || sa.size % CS === 0) || !aData.equals(a.subarray(0, sa.size)))
      t.fail(`after write ${n}: /a is not a prefix cut at a cluster (size ${sa.size})`)
    if (sa.size > 1000 && sa.size < FILE) cut.add(sa.size)
    const names = r.readdir(1).map((e) => e.name.toString())
    if (names.includes('b')) {
      if (!r.readFile(r.resolve('/b')).equals(b)) t.fail(`after write ${n}: /b is there but not whole`)
    } else {
      const used = Math.ceil(sa.size / BS)
      if (r.info().freeBlocks < freeBefore + Math.floor(FILE / BS) * 2 - used - 64)
        t.fail(`after write ${n}: /b is gone but its blocks are not free (${r.info().freeBlocks} free)`)
    }
    r.close()
    states++
  }
  t.ok(states > 4, `${states} crash states checked`)
  t.ok(
    cut.size >= 1,
    `a crash in the middle of the truncate leaves /a cut at ${[...cut].join(', ')} (a step committed)`,
  )
})
