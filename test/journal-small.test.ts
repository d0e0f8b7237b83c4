// The smallest journal mkfs allows (--journal-size, 64 blocks) through the real
// binary: a big file in and out, a big truncate and rm of a big file at 1 KiB
// blocks, where freeing it touches more bitmap blocks than the journal holds
// (each covers 7,808 blocks, 7.6 MiB): they commit in steps that fit. A journal
// below the minimum is refused at mkfs with the minimum and the way out.
import t from 'tap'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {cli, cliHash, cliUnavailable, tmpDir} from './helpers/image.js'
import {jsonResult} from './helpers/envelope.js'

const MiB = 1 << 20
/** Bytes of the big file: freeing it dirties ~64 bitmap blocks (RAZORFS_TEST_SMALL_JOURNAL_MIB to change). */
const BIG = Number(process.env.RAZORFS_TEST_SMALL_JOURNAL_MIB ?? 500) * MiB

t.test('mkfs refuses a journal below the minimum', {skip: cliUnavailable()}, async (t) => {
  const dir = tmpDir(t, 'jsmall')
  const img = path.join(dir, 'a.img')
  const r = cli(['mkfs', img, '--size', '64M', '--block-size', '1K', '--journal-size', '32K'])
  t.equal(r.status, 2)
  t.match(
    r.stderr,
    'a journal of 32 blocks is too small: give --journal-size of at least 64 blocks (65536 bytes at block size 1024), or 0 for no journal',
  )
  t.notOk(fs.existsSync(img))
  t.equal(
    cli(['mkfs', img, '--size', '64M', '--block-size', '1K', '--journal-size', '64K', '-q']).status,
    0,
    'the minimum itself is fine',
  )
})

t.test('big operations with the smallest journal', {skip: cliUnavailable()}, async (t) => {
  const dir = tmpDir(t, 'jsmall')
  const img = path.join(dir, 'a.img')
  const host = path.join(dir, 'big')
  // a pattern that is never an all-zero block (no holes), written in pieces
  const fd = fs.openSync(host, 'w')
  const hash = crypto.createHash('sha256')
  for (let off = 0; off < BIG; off += 4 * MiB) {
    const piece = Buffer.alloc(Math.min(4 * MiB, BIG - off), `razorfs ${off} `)
    hash.update(piece)
    fs.writeSync(fd, piece)
  }
  fs.closeSync(fd)
  const sha = hash.digest('hex')
  let r = cli([
    'mkfs',
    img,
    '--size',
    `${Math.ceil((2.2 * BIG) / MiB)}M`,
    '--block-size',
    '1K',
    '--compression',
    'none',
    '--journal-size',
    '64K',
    '-q',
  ])
  t.equal(r.status, 0, r.stderr)
  r = cli(['cp', host, `${img}:/big`])
  t.equal(r.status, 0, `cp in: ${r.stderr}`)
  r = cli(['cp', host, `${img}:/big2`])
  t.equal(r.status, 0, `cp in again: ${r.stderr}`)
  const out = await cliHash(['cat', `${img}:/big`])
  t.equal(out.status, 0, out.stderr)
  t.equal(out.sha256, sha, 'the copy reads back the same')
  r = cli(['truncate', '-s', '1000', `${img}:/big`])
  t.equal(r.status, 0, `truncate: ${r.stderr}`)
  r = cli(['stat', `${img}:/big`, '--json'])
  t.equal(jsonResult(r.stdout).size, 1000)
  r = cli(['rm', `${img}:/big2`])
  t.equal(r.status, 0, `rm: ${r.stderr}`)
  r = cli(['fsck', '-f', img])
  t.equal(r.status, 0, r.stdout + r.stderr)
  r = cli(['ls', img])
  t.equal(r.stdout, 'big\n')
  const info = jsonResult(cli(['dump', img, '--json']).stdout) as {freeBlocks: number; blocks: number}
  t.ok(info.blocks - info.freeBlocks < 2000, `the space is free again (${info.blocks - info.freeBlocks} blocks used)`)
})
