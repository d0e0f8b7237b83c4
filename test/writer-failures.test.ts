// Writers that fail leave nothing behind: no stale IMAGE.lock, no 0-byte
// image, and an existing image that mkfs --force was to replace is left as
// it was. Through the real binary; the permission cases run as `nobody`
// (they need root to switch users, as CI runs).
import t from 'tap'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {spawnSync} from 'node:child_process'
import {BIN, cli, cliUnavailable, PROJECT, tmpDir} from './helpers/image.js'

const sha = (p: string) => crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')
const leftovers = (dir: string) => fs.readdirSync(dir).filter((n) => n.endsWith('.lock') || n.includes('.mkfs-'))

/** Run the binary as nobody (uid 65534). */
function asNobody(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: PROJECT,
    uid: 65534,
    gid: 65534,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {...process.env, NO_COLOR: '1', CI: 'true', HOME: os.tmpdir(), NODE_OPTIONS: ''},
  })
  return {status: r.status, stderr: r.stderr.toString()}
}

const notRoot = process.getuid?.() !== 0 ? 'needs root to run commands as nobody' : undefined

t.test('mkfs --size 1P: one line naming the image, no file, no lock', {skip: cliUnavailable()}, async (t) => {
  const dir = tmpDir(t, 'wfail')
  const img = path.join(dir, 'big.img')
  const r = cli(['mkfs', img, '--size', '1P'])
  t.equal(r.status, 4, 'host error')
  t.match(
    r.stderr.trim(),
    new RegExp(
      `^razorfs: ${img.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: the host file system does not allow a file that large; give a smaller --size$`,
    ),
  )
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line')
  t.notOk(fs.existsSync(img), 'the image file is removed')
  t.same(leftovers(dir), [], 'no lock, no temporary file')
})

t.test('mkfs --force that fails leaves the existing image as it was', {skip: cliUnavailable()}, async (t) => {
  const dir = tmpDir(t, 'wfail')
  const img = path.join(dir, 'a.img')
  t.equal(cli(['mkfs', img, '--size', '4M', '-q']).status, 0)
  t.equal(cli(['mkdir', `${img}:/keep`]).status, 0)
  fs.chmodSync(img, 0o640)
  const before = sha(img)
  const r = cli(['mkfs', img, '--size', '1P', '--force'])
  t.equal(r.status, 4)
  t.match(r.stderr, `${img}: the host file system does not allow a file that large`)
  t.match(r.stderr, `(the existing ${img} was left as it was)`)
  t.equal(sha(img), before, 'byte for byte as before')
  t.same(leftovers(dir), [], 'no lock, no temporary file')
  // a usage error (a bad --uuid) touches nothing either
  const u = cli(['mkfs', img, '--size', '4M', '--force', '--uuid', 'nope'])
  t.equal(u.status, 2, u.stderr)
  t.equal(sha(img), before)
  // a successful --force replaces it, keeping the file's permissions
  const ok = cli(['mkfs', img, '--size', '8M', '--force', '-q'])
  t.equal(ok.status, 0, ok.stderr)
  t.equal(fs.statSync(img).size, 8 << 20, 'replaced')
  t.equal(fs.statSync(img).mode & 0o777, 0o640, 'mode kept')
  t.equal(cli(['ls', `${img}:/keep`]).status, 1, 'the old content is gone')
  t.same(leftovers(dir), [])
})

t.test('permission denied: no stale lock', {skip: cliUnavailable() ?? notRoot}, async (t) => {
  const dir = tmpDir(t, 'wfail')
  fs.chmodSync(dir, 0o777)
  // an empty file nobody may write: mkfs takes the lock, then cannot open the file
  const empty = path.join(dir, 'empty.img')
  fs.writeFileSync(empty, '')
  fs.chmodSync(empty, 0o444)
  let r = asNobody(['mkfs', empty, '--size', '4M'])
  t.equal(r.status, 4, r.stderr)
  t.match(r.stderr, `${empty}: permission denied`)
  t.equal(fs.statSync(empty).size, 0, 'left as it was')
  t.same(leftovers(dir), [], 'no lock')
  // an image nobody may write: every writer refuses it and leaves no lock
  const img = path.join(dir, 'ro.img')
  t.equal(cli(['mkfs', img, '--size', '4M', '-q']).status, 0)
  fs.chmodSync(img, 0o444)
  const before = sha(img)
  const host = path.join(dir, 'host.txt')
  fs.writeFileSync(host, 'x')
  fs.chmodSync(host, 0o644)
  for (const args of [
    ['mkfs', img, '--size', '4M', '--force'],
    ['mkdir', `${img}:/d`],
    ['touch', `${img}:/f`],
    ['cp', host, `${img}:/h`],
    ['journal', 'replay', img],
    ['corrupt', img, '--kind', 'nlink-high'],
  ]) {
    r = asNobody(args)
    t.not(r.status, 0, `${args[0]} fails`)
    t.match(r.stderr, 'permission denied', args.join(' '))
    t.same(leftovers(dir), [], `${args[0]}: no lock`)
  }
  t.equal(sha(img), before, 'the image is unchanged')
})

t.test('corrupt with nothing to damage releases the lock', {skip: cliUnavailable()}, async (t) => {
  const dir = tmpDir(t, 'wfail')
  const img = path.join(dir, 'a.img')
  t.equal(cli(['mkfs', img, '--size', '4M', '-q']).status, 0)
  const r = cli(['corrupt', img, '--kind', 'nlink-high'])
  t.equal(r.status, 1)
  t.match(r.stderr, 'the image has no file to damage')
  t.same(leftovers(dir), [], 'no lock')
  t.equal(cli(['mkdir', `${img}:/d`]).status, 0, 'the next writer is not refused')
})
