// Issue 10 item 4: one damaged data block must not make recovery throw away
// committed work. A crashed image holds 160 committed transactions, each
// creating a file whose data blocks the transaction lists with their CRCs
// (descriptor flags bit 0, FORMAT.md §9). One byte of an early file's data is
// flipped. Recovery must redo every committed transaction (ARIES: committed
// work is never undone), keep the damaged data as it is, and name exactly
// the damaged file and byte range — in the library's recovery report, in
// `journal show`/`journal replay` and in fsck (JOURNAL_DATA_DAMAGED); the
// repaired image checks clean and only that file fails --check-data. At the
// very end of the log, a listed data block that does not match while
// nothing after the commit reached the disk is a crash before the commit's
// fsync: that one transaction is discarded (it was never acknowledged).
import t from 'tap'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {Image} from '../src/core/index.js'
import {MemoryDevice} from '../src/core/io/device.js'
import {normalizeCreateOptions} from '../src/core/image/create-options.js'
import {crashImage, RecordingDevice} from './helpers/crash.js'
import {cli, cliUnavailable, tmpDir} from './helpers/image.js'
import {jsonResult} from './helpers/envelope.js'

const BS = 4096
const FILES = 160
const DAMAGED = 17 // the file whose data block gets a flipped byte
const content = (i: number) =>
  crypto
    .createHash('sha512')
    .update(`file ${i}`)
    .digest()
    .toString('hex')
    .repeat(80)
    .slice(0, 9000 + i) // 3 blocks; hex does not compress below them

const sha = (p: string) => crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')

/** A crashed image: FILES committed transactions, each creating one file, then SIGKILL-like abandon. */
function crashed(dir: string): {path: string; block: number} {
  const p = path.join(dir, 'crashed.img')
  const img = Image.create(p, {
    size: 48 << 20,
    blockSize: BS,
    journalBlocks: 4096,
    compression: {algorithm: 'none', level: 0},
  })
  let block = 0
  for (let i = 0; i < FILES; i++) {
    const f = img.create(1, `f${i}`, {mode: 0o644})
    img.write(f, 0, Buffer.from(content(i)))
    img.flush()
    if (i === DAMAGED) block = img.extents(f)[0]!.block
  }
  img.abandon()
  return {path: p, block}
}

function flipByte(p: string, at: number): void {
  const fd = fs.openSync(p, 'r+')
  const b = Buffer.alloc(1)
  fs.readSync(fd, b, 0, 1, at)
  b[0] ^= 0x5a
  fs.writeSync(fd, b, 0, 1, at)
  fs.closeSync(fd)
}

function damaged(dir: string): {path: string; block: number} {
  const c = crashed(dir)
  flipByte(c.path, c.block * BS + 100)
  return c
}

t.test('recovery redoes every committed transaction and names the damaged range', async (t) => {
  const {path: p, block} = damaged(tmpDir(t, 'jdamage'))
  // read-only: in memory
  const ro = Image.open(p)
  t.equal(ro.recovery?.transactions, FILES, 'every committed transaction is applied in memory')
  t.equal(ro.recovery?.discarded, undefined)
  t.same(ro.recovery?.damaged, [
    {seq: DAMAGED + 1, block, ino: ro.resolve(`/f${DAMAGED}`), path: `/f${DAMAGED}`, offset: 0, length: 9000 + DAMAGED},
  ])
  ro.close()
  // read-write: recovered on disk
  const img = Image.open(p, {readOnly: false})
  t.equal(img.recovery?.transactions, FILES)
  t.equal(img.recovery?.damaged?.length, 1)
  t.equal(img.readdir(1).length, FILES, 'no inode is missing')
  for (let i = 0; i < FILES; i++) {
    const ino = img.resolve(`/f${i}`)
    if (i === DAMAGED)
      t.throws(
        () => img.readFile(ino),
        /checksum/,
        'the damaged file fails its checksum, it does not return wrong bytes',
      )
    else if (img.readFile(ino).toString() !== content(i)) t.fail(`f${i} differs`)
  }
  t.same(img.check().problems, [], 'metadata checks clean: nothing leaked, nothing missing')
  t.same(
    img.check({checkData: true}).problems.map((x) => [x.id, x.ino, x.found]),
    [['DATA_CHECKSUM', img.resolve(`/f${DAMAGED}`), 0]],
    'only the damaged file fails --check-data',
  )
  img.close()
})

t.test('through the binary: journal show, fsck, journal replay', async (t) => {
  const why = cliUnavailable()
  if (why) return t.fail(why)
  const dir = tmpDir(t, 'jdamagebin')
  const {path: p, block} = damaged(dir)
  const before = sha(p)
  const range = `bytes 0-${9000 + DAMAGED - 1}`

  const show = cli(['journal', 'show', p])
  t.equal(show.status, 0, show.stderr)
  t.equal(show.stdout.match(/: committed/g)?.length, FILES)
  t.match(show.stdout, `Transaction ${DAMAGED + 1}: committed`)
  t.match(
    show.stdout,
    `  damaged data: /f${DAMAGED}: ${range} (block ${block}, transaction ${DAMAGED + 1}) fail their checksum`,
  )
  const showJson = jsonResult(cli(['journal', 'show', p, '--json']).stdout)
  t.same(
    showJson.damaged.map((d: {path: string; offset: number}) => [d.path, d.offset]),
    [[`/f${DAMAGED}`, 0]],
  )

  // a read-only command says so in its recovery note
  const ls = cli(['ls', p])
  t.equal(ls.status, 0, ls.stderr)
  t.match(ls.stderr, `damaged data kept (reads of it fail its checksum): /f${DAMAGED}: ${range}`)

  // fsck -n: reports, writes nothing, exit 4
  const n = cli(['fsck', '-n', p, '--json'])
  t.equal(n.status, 4, n.stderr)
  const nj = jsonResult(n.stdout)
  const dmg = nj.problems.filter((x: {id: string}) => x.id === 'JOURNAL_DATA_DAMAGED')
  t.equal(dmg.length, 1)
  t.equal(dmg[0].code, '0x010004')
  t.equal(dmg[0].path, `/f${DAMAGED}`)
  t.match(dmg[0].message, `/f${DAMAGED}: ${range} (inode `)
  t.match(
    nj.problems.find((x: {id: string}) => x.id === 'JOURNAL_NEEDS_RECOVERY').message,
    `${FILES} committed transaction`,
  )
  t.equal(sha(p), before, 'fsck -n writes nothing')

  // razorfsck -y: replays everything, keeps the data, reports it uncorrected
  const copy = path.join(dir, 'copy.img')
  fs.copyFileSync(p, copy)
  const y = cli(['fsck', '-y', copy])
  t.match(y.stdout + y.stderr, `JOURNAL_DATA_DAMAGED`)
  t.equal(y.status! & 4, 4, 'the damage is reported as not corrected')
  t.equal(cli(['fsck', '-f', '-n', copy]).status, 0, 'the repaired image checks clean')
  const cd = jsonResult(cli(['fsck', '-f', '-n', '--check-data', copy, '--json']).stdout)
  t.same(
    cd.problems.map((x: {id: string; inode: number}) => x.id),
    ['DATA_CHECKSUM'],
    'only the damaged range fails --check-data',
  )
  t.equal(cli(['ls', copy]).stdout.trim().split('\n').length, FILES)

  // journal replay: replays all, names the damage
  const r = cli(['journal', 'replay', p])
  t.equal(r.status, 0, r.stderr)
  t.match(r.stdout, `Replayed ${FILES} transactions`)
  t.match(r.stdout, `Damaged data (kept, the transaction was replayed): /f${DAMAGED}: ${range}`)
  t.equal(cli(['fsck', '-f', '-n', p]).status, 0)
  t.equal(cli(['cat', `${p}:/f${DAMAGED + 1}`]).stdout, content(DAMAGED + 1))
})

t.test('the end of the log: a listed data block written after the crash point', async (t) => {
  const baseDev = new MemoryDevice(0)
  Image.format(
    'base',
    baseDev,
    normalizeCreateOptions({
      size: 16 << 20,
      blockSize: BS,
      journalBlocks: 512,
      compression: {algorithm: 'none', level: 0},
    }),
  ).close()
  const base = Buffer.from(baseDev.contents())
  const rec = new RecordingDevice(crashImage(base, []), BS)
  const img = Image.openDevice('work', rec, {readOnly: false})
  for (let i = 0; i < 3; i++) {
    img.write(img.create(1, `f${i}`, {}), 0, Buffer.from(content(i)))
    img.flush()
  }
  const block = img.extents(img.resolve('/f2'))[0]!.block
  img.abandon()
  let dataWrite = -1
  rec.writes.forEach((w, i) => {
    if (w.pos === block * BS) dataWrite = i
  })
  const epoch = rec.writes[dataWrite]!.epoch
  // the crash came before the last commit's fsync: its journal blocks and commit reached the disk, one data block did not
  const torn = crashImage(
    base,
    rec.writes.filter((w, i) => w.epoch <= epoch && i !== dataWrite),
  )
  t.ok(
    rec.writes.some((w) => w.epoch > epoch),
    'the last transaction had home writes after its fsync',
  )
  const a = Image.openDevice('torn', torn, {readOnly: false})
  t.equal(a.recovery?.transactions, 2, 'the unacknowledged last transaction is not redone')
  t.match(a.recovery?.discarded, {
    seq: 3,
    state: 'incomplete',
    reason: /data block \d+ does not match its checksum and nothing after the commit reached the disk/,
  })
  t.equal(a.recovery?.damaged, undefined)
  t.same(
    a
      .readdir(1)
      .map((e) => e.name.toString())
      .sort(),
    ['f0', 'f1'],
  )
  t.same(a.check({checkData: true}).problems, [])
  a.abandon()
  // the same, with the last transaction's home writes on disk: its fsync was done, so the mismatch is damage
  const late = crashImage(
    base,
    rec.writes.filter((_, i) => i !== dataWrite),
  )
  const b = Image.openDevice('late', late, {readOnly: false})
  t.equal(b.recovery?.transactions, 3, 'redone: its home blocks show the commit was durable')
  t.equal(b.recovery?.damaged?.[0]?.path, '/f2')
  t.same(b.check().problems, [])
  b.abandon()
})
