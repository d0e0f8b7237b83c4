/**
 * Failures through the binary: exit status (0 ok, 1 failed, 2 usage,
 * 3 bad image, 4 host I/O), exactly one line on stderr starting with
 * "razorfs:", no stack trace, nothing on stdout; with --json the error
 * envelope on stdout instead.
 */
import t, {type Test} from 'tap'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {mixedTree} from './helpers/tree.js'
import {cli, cliUnavailable, tmpDir, type RunResult} from './helpers/image.js'

type Tap = Test

/** The one-line error contract. */
function oneLineError(t: Tap, r: RunResult, status: number, what: string, message?: RegExp): void {
  t.equal(
    r.status,
    status,
    `${what}: exit ${status}${r.status !== status ? ` (got ${r.status}; stderr: ${r.stderr.trim()})` : ''}`,
  )
  const lines = r.stderr.split('\n').filter((l) => l !== '')
  t.equal(lines.length, 1, `${what}: exactly one line on stderr${lines.length !== 1 ? `, got:\n${r.stderr}` : ''}`)
  t.match(lines[0] ?? '', /^razorfs: \S/, `${what}: the line starts with "razorfs: "`)
  t.notMatch(
    r.stderr,
    /\n\s+at .+[:(]|\b(TypeError|RangeError|ReferenceError|SyntaxError)\b|node:internal|\.ts:\d+|\.js:\d+/,
    `${what}: no stack trace or internals`,
  )
  t.equal(r.stdout, '', `${what}: nothing on stdout`)
  if (message) t.match(lines[0] ?? '', message, `${what}: message says what is wrong`)
}

function jsonError(t: Tap, r: RunResult, status: number, code: string | RegExp, what: string): void {
  t.equal(r.status, status, `${what} --json: exit ${status}`)
  let env: {
    status?: string
    exit?: number
    warnings?: unknown
    error?: {code?: string; message?: string; exit?: number}
  } = {}
  try {
    env = JSON.parse(r.stdout)
  } catch {
    t.fail(`${what} --json: stdout is JSON (${JSON.stringify(r.stdout.slice(0, 200))})`)
    return
  }
  t.equal(env.status, 'error', `${what} --json: status "error"`)
  t.equal(env.exit, status, `${what} --json: exit`)
  t.ok(Array.isArray(env.warnings), `${what} --json: warnings listed`)
  t.match(env.error?.code, code, `${what} --json: error.code`)
  t.equal(env.error?.exit, status, `${what} --json: error.exit`)
  t.ok(env.error?.message, `${what} --json: error.message`)
}

function main(): void {
  t.test('errors', async (t) => {
    const dir = tmpDir(t, 'errors')
    const P = (n: string) => path.join(dir, n)
    fs.mkdirSync(P('src'))
    fs.writeFileSync(P('src/hello.txt'), 'hello\n')
    fs.writeFileSync(P('text.txt'), 'this is a text file\nnot an image\n')
    fs.writeFileSync(P('random.bin'), crypto.randomBytes(300_000))
    fs.writeFileSync(P('empty'), '')
    const good = P('good.img')
    t.equal(cli(['mkfs', good, '--root', P('src'), '--quiet']).status, 0, 'a valid image to start from')

    // not an image
    for (const f of ['text.txt', 'random.bin', 'empty']) {
      for (const cmd of [
        ['ls', P(f)],
        ['stat', P(f)],
        ['dump', P(f)],
        ['cat', `${P(f)}:/hello.txt`],
      ]) {
        oneLineError(t, cli(cmd), 3, `${cmd[0]} on ${f}`, /not a RAZORFS image|image/i)
      }
    }
    jsonError(t, cli(['ls', P('text.txt'), '--json']), 3, 'ENOTIMAGE', 'ls on a text file')

    // a damaged superblock magic
    const bad = P('badmagic.img')
    fs.copyFileSync(good, bad)
    const fd = fs.openSync(bad, 'r+')
    fs.writeSync(fd, Buffer.from('XXXX'), 0, 4, 0)
    fs.closeSync(fd)
    oneLineError(t, cli(['ls', bad]), 3, 'ls on an image with a broken primary superblock')

    // missing image
    oneLineError(t, cli(['ls', P('missing.img')]), 4, 'ls on a missing image', /missing\.img/)
    oneLineError(t, cli(['cat', `${P('missing.img')}:/x`]), 4, 'cat on a missing image')
    jsonError(t, cli(['stat', P('missing.img'), '--json']), 4, /ENOENT|.+/, 'stat on a missing image')

    // truncated image
    const trunc = P('trunc.img')
    fs.copyFileSync(good, trunc)
    fs.truncateSync(trunc, Math.floor(fs.statSync(good).size / 2))
    oneLineError(t, cli(['ls', trunc]), 3, 'ls on an image truncated to half', /truncat/i)
    jsonError(t, cli(['ls', trunc, '--json']), 3, 'ETRUNCATED', 'ls on a truncated image')

    // missing path inside a valid image
    oneLineError(t, cli(['cat', `${good}:/nope`]), 1, 'cat of a missing path', /nope/)
    oneLineError(t, cli(['ls', `${good}:/nope/deeper`]), 1, 'ls of a missing path')
    oneLineError(t, cli(['stat', `${good}:/nope`]), 1, 'stat of a missing path')
    jsonError(t, cli(['stat', `${good}:/nope`, '--json']), 1, 'ENOENT', 'stat of a missing path')
    oneLineError(t, cli(['cat', `${good}:/`]), 1, 'cat of a directory')

    // mkfs onto an existing non-empty file without --force: refused, file untouched
    const before = fs.readFileSync(P('text.txt'))
    oneLineError(
      t,
      cli(['mkfs', P('text.txt'), '--root', P('src')]),
      1,
      'mkfs onto a non-empty file without --force',
      /--force/,
    )
    t.same(fs.readFileSync(P('text.txt')), before, 'the existing file is untouched')
    t.equal(
      cli(['mkfs', P('text.txt'), '--root', P('src'), '--force', '--quiet']).status,
      0,
      'with --force it is replaced',
    )

    // --size too small
    oneLineError(
      t,
      cli(['mkfs', P('tiny.img'), '--root', P('src'), '--size', '4096']),
      1,
      'mkfs --size below the minimum',
      /small|size/i,
    )
    const mixed = await mixedTree()
    // (--progress none: under CI, mkfs otherwise logs its phases on stderr before the error line)
    const full = cli(['mkfs', P('full.img'), '--root', mixed, '--size', '2M', '--progress', 'none'], {
      timeoutMs: 120_000,
    })
    oneLineError(t, full, 1, 'mkfs --size too small for the tree', /space|full|ENOSPC|small|size/i)

    // usage errors
    oneLineError(t, cli(['ls', good, '--bogus']), 2, 'an unknown flag', /bogus/)
    oneLineError(t, cli(['ls']), 2, 'a missing argument')
    oneLineError(t, cli(['frobnicate']), 2, 'an unknown command', /frobnicate/)
    oneLineError(
      t,
      cli(['mkfs', P('x.img'), '--root', P('src'), '--size', 'banana']),
      2,
      'a bad --size value',
      /banana|size/i,
    )
    oneLineError(t, cli(['cat', good]), 2, 'cat without :PATH')
    oneLineError(
      t,
      cli(['cp', '--commit', 'soon', P('src'), `${good}:/`]),
      2,
      'a bad cp --commit value',
      /--commit: 'soon' is not a number of seconds/,
    )
  })
}

const why = cliUnavailable()
if (why) t.fail(`cannot run the CLI: ${why}`)
else main()
