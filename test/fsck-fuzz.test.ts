// Fuzzing fsck (issue 4): random damage — bit flips, zeroed, random and
// swapped blocks, truncation — to small base images, 2,000 cases per run.
// Two of the five bases are 100% full (as mkfs --size auto leaves them).
// fsck --repair must never throw anything but a clean RazorError (never "no
// space"), leave the image byte for byte as it was when it does, never hang
// (time bound per case), stay within a memory bound, and leave an image that
// checks clean. bench/fsck-fuzz.mjs runs far more cases outside CI.
import t from 'tap'
import path from 'node:path'
import * as core from '../src/core/index.js'
import {runFuzz} from './helpers/fuzz-cases.mjs'
import {PROJECT, tmpDir} from './helpers/image.js'

const CASES = Number(process.env.RAZORFS_FUZZ_CASES ?? 2000)

t.test(`fsck survives ${CASES} randomly damaged images`, async (t) => {
  const dir = tmpDir(t, 'fuzz')
  const small = path.join(dir, 'small.img')
  let img = core.Image.create(small, {size: 2 << 20, blockSize: 1024, journalBlocks: 64})
  core.populate(img, path.join(PROJECT, 'fixtures/fsck/tree'))
  img.close()
  const mixed = path.join(dir, 'mixed.img')
  img = core.Image.create(mixed, {size: 3 << 20, blockSize: 1024, clusterSize: 8192, journalBlocks: 64})
  for (let d = 0; d < 6; d++) {
    const dino = img.mkdir(1, `d${d}`, {})
    for (let f = 0; f < 40; f++) {
      const ino = img.create(dino, `f${f}`, {})
      img.write(ino, 0, Buffer.alloc(f * 97, 65 + d))
      if (f % 7 === 0) img.setXattr(ino, 'user.tag', Buffer.from(`v${f}`))
    }
    img.link(img.resolve(`/d${d}/f1`), 1, `link${d}`)
    img.symlink(dino, 'sym', `/d${d}/f2`, {})
  }
  img.close()
  // built as mkfs does: 4 KiB clusters, so data in blocks and packed tails (FORMAT.md §10, packs)
  const packed = path.join(dir, 'packed.img')
  img = core.Image.create(packed, {size: 2 << 20, blockSize: 1024, clusterSize: 4096, journalBlocks: 64, bulk: true})
  await core.buildImage(img, {
    root: path.join(PROJECT, 'fixtures/fsck/tree'),
    workers: 0,
    policy: new core.AttrPolicy(),
    now: () => ({sec: 1_700_000_000, nsec: 0}),
  })
  img.close()
  // 100% full images, as mkfs --size auto leaves them: repair must work within the space it frees
  const smallFull = path.join(dir, 'small-full.img')
  img = core.Image.create(smallFull, {size: 2 << 20, blockSize: 1024, journalBlocks: 64, bulk: true})
  core.populate(img, path.join(PROJECT, 'fixtures/fsck/tree'))
  img.fitToContents()
  img.close()
  const packedFull = path.join(dir, 'packed-full.img')
  img = core.Image.create(packedFull, {
    size: 2 << 20,
    blockSize: 1024,
    clusterSize: 4096,
    journalBlocks: 64,
    bulk: true,
  })
  await core.buildImage(img, {
    root: path.join(PROJECT, 'fixtures/fsck/tree'),
    workers: 0,
    policy: new core.AttrPolicy(),
    now: () => ({sec: 1_700_000_000, nsec: 0}),
  })
  img.fitToContents()
  img.close()
  for (const f of [smallFull, packedFull]) {
    const i = core.Image.open(f)
    t.equal(i.volume.alloc.freeBlocks, 0, `${path.basename(f)} is full`)
    i.close()
  }
  const rssBefore = process.memoryUsage().rss
  const r = runFuzz(core, {
    bases: [
      {path: small, blockSize: 1024},
      {path: mixed, blockSize: 1024},
      {path: packed, blockSize: 1024},
      {path: smallFull, blockSize: 1024, full: true},
      {path: packedFull, blockSize: 1024, full: true},
    ],
    dir,
    count: CASES,
    seed: process.env.RAZORFS_FUZZ_SEED ?? 'ci',
    timeLimitMs: 10_000,
  })
  const grew = process.memoryUsage().rss - rssBefore
  console.log(
    `# fsck fuzz: ${r.cases} cases: ${r.repaired} repaired, ${r.untouched} found clean, ${r.refused} refused as unusable, ${r.failures.length} failures; slowest ${r.slowest} ms; RSS grew ${(grew / 2 ** 20).toFixed(0)} MiB`,
  )
  t.equal(r.cases, CASES)
  t.same(r.failures.slice(0, 10), [], 'no throws, hangs, rollbacks or unclean second checks')
  t.ok(grew < 512 * 2 ** 20, 'memory stays bounded')
  t.ok(r.repaired > CASES / 3, 'most cases needed a repair (the damage is real)')
})
