// The journal through the real binary: read-only commands on an image that
// was not closed cleanly show the recovered state without writing a byte;
// `journal show`, `journal replay` (in place, --output, --dry-run) report
// what they find; mkfs --journal-size 0 makes an image without a journal.
import t from 'tap'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {Image} from '../src/core/index.js'
import {cli, tmpDir} from './helpers/image.js'
import {jsonResult} from './helpers/envelope.js'

const sha = (p: string) => crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')

/** An image left as a crash leaves it: three committed files, one uncommitted. */
function crashed(dir: string): string {
  const p = path.join(dir, 'crashed.img')
  const img = Image.create(p, {size: 32 << 20})
  for (const n of ['a', 'b', 'c']) {
    const f = img.create(1, n, {})
    img.write(f, 0, Buffer.alloc(9000, n))
    img.flush()
  }
  img.create(1, 'uncommitted', {})
  img.abandon()
  return p
}

t.test('read-only commands show the recovered state and write nothing', async (t) => {
  const p = crashed(tmpDir(t, 'jbin'))
  const before = sha(p)
  const ls = cli(['ls', p])
  t.equal(ls.status, 0)
  t.same(ls.stdout.trim().split('\n'), ['a', 'b', 'c'])
  t.match(ls.stderr, /not closed cleanly.*3 committed transactions.*not changed/)
  t.equal(cli(['cat', `${p}:/b`]).stdoutBuf.length, 9000)
  t.equal(cli(['ls', '--quiet', p]).stderr, '', '--quiet silences the note')
  t.equal(sha(p), before, 'the image file is unchanged')
})

t.test('journal show lists the transactions', async (t) => {
  const p = crashed(tmpDir(t, 'jshow'))
  const r = cli(['journal', 'show', p, '--json'])
  t.equal(r.status, 0, r.stderr)
  const j = jsonResult(r.stdout)
  t.equal(j.needsRecovery, true)
  t.equal(j.transactions.filter((x: {state: string}) => x.state === 'committed').length, 3)
  t.ok(j.transactions[0].blocks.some((b: {kind: string}) => b.kind === 'leaf'))
  t.match(cli(['journal', 'show', p]).stdout, /Transaction 1: committed/)
})

t.test('journal replay: dry run, into a copy, in place, idempotent', async (t) => {
  const dir = tmpDir(t, 'jreplay')
  const p = crashed(dir)
  const before = sha(p)
  const dry = jsonResult(cli(['journal', 'replay', p, '--dry-run', '--json']).stdout)
  t.equal(dry.transactions, 3)
  t.equal(dry.plan.length, 3)
  t.equal(sha(p), before, 'dry run writes nothing')
  const out = path.join(dir, 'copy.img')
  const copy = jsonResult(cli(['journal', 'replay', p, '--output', out, '--json']).stdout)
  t.equal(copy.transactions, 3)
  t.equal(sha(p), before, '--output leaves the original untouched')
  t.equal(cli(['ls', out]).stderr, '', 'the copy is clean')
  t.equal(cli(['journal', 'replay', p, '--output', out]).status, 1, 'an existing --output needs --force')
  const inPlace = cli(['journal', 'replay', p])
  t.equal(inPlace.status, 0)
  t.match(inPlace.stdout, /Replayed 3 transactions/)
  t.match(cli(['journal', 'replay', p]).stdout, /nothing to replay/)
  t.same(cli(['ls', p]).stdout.trim().split('\n'), ['a', 'b', 'c'])
  const img = Image.open(p)
  t.same(img.check({checkData: true}).problems, [])
  img.close()
})

t.test('mkfs --journal-size 0: no journal', async (t) => {
  const p = path.join(tmpDir(t, 'nojournal'), 'n.img')
  t.equal(cli(['mkfs', p, '--size', '8M', '--journal-size', '0']).status, 0)
  const d = jsonResult(cli(['dump', p, '--json']).stdout)
  t.notOk(JSON.stringify(d).includes('"journal"'), 'no journal feature')
  t.match(cli(['journal', 'show', p]).stdout, /no journal/)
})
