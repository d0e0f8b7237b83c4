/**
 * One JSON envelope for every command (docs/json-envelope.schema.json): each razorfs command, razorfsck and
 * mkfs.razorfs run with --json print exactly one document on stdout, valid against the schema, for a success and
 * for a failure; its exit field is the process's exit status; warnings are listed with their code and path.
 */
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import {spawnSync} from 'node:child_process'
import {Ajv2020} from 'ajv/dist/2020.js'
import {cli, PROJECT, tmpDir, type RunResult} from './helpers/image.js'
import {envelope} from './helpers/envelope.js'
import {entry, end} from './helpers/tar-craft.js'

const schema = JSON.parse(fs.readFileSync(path.join(PROJECT, 'docs/json-envelope.schema.json'), 'utf8'))
const validate = new Ajv2020({allErrors: true, strict: true}).compile(schema)

function run(bin: string, args: string[]): RunResult {
  const r = spawnSync(process.execPath, [path.join(PROJECT, 'bin', bin), ...args], {
    cwd: PROJECT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {...process.env, NO_COLOR: '1', CI: 'true', NODE_OPTIONS: ''},
  })
  return {
    status: r.status,
    signal: r.signal,
    stdout: r.stdout.toString(),
    stderr: r.stderr.toString(),
    stdoutBuf: r.stdout,
  }
}

t.test('every command prints one envelope, valid against the schema', async (t) => {
  const dir = tmpDir(t, 'envelope')
  const P = (n: string) => path.join(dir, n)
  fs.mkdirSync(P('src/sub'), {recursive: true})
  fs.writeFileSync(P('src/a.txt'), 'alpha\n')
  const img = P('a.img')
  t.equal(cli(['mkfs', img, '--size', '8M', '--root', P('src'), '-q']).status, 0, 'an image to work on')
  const I = (p: string) => `${img}:${p}`

  // [what, argv, expected status ('ok' | 'error'), expected exit]
  const cases: Array<[string, string[], 'ok' | 'error', number]> = [
    ['ls', ['ls', I('/')], 'ok', 0],
    ['ls missing', ['ls', I('/nope')], 'error', 1],
    ['stat', ['stat', I('/a.txt')], 'ok', 0],
    ['stat not an image', ['stat', P('src/a.txt')], 'error', 3],
    ['cat', ['cat', I('/a.txt')], 'ok', 0],
    ['cat a directory', ['cat', I('/sub')], 'error', 1],
    ['dump', ['dump', img], 'ok', 0],
    ['dump --manifest', ['dump', img, '--manifest'], 'ok', 0],
    ['dump missing image', ['dump', P('missing.img')], 'error', 4],
    ['diff equal', ['diff', img, P('src')], 'ok', 0],
    ['diff bad operand', ['diff', img, P('missing')], 'error', 2],
    ['mkdir', ['mkdir', I('/d')], 'ok', 0],
    ['mkdir exists', ['mkdir', I('/d')], 'ok', 1],
    ['touch', ['touch', I('/d/t')], 'ok', 0],
    ['truncate', ['truncate', '-s', '10', I('/d/t')], 'ok', 0],
    ['chmod', ['chmod', '600', I('/d/t')], 'ok', 0],
    ['chown', ['chown', '1:2', I('/d/t')], 'ok', 0],
    ['ln -s', ['ln', '-s', 'a.txt', I('/link')], 'ok', 0],
    ['mv', ['mv', I('/link'), I('/link2')], 'ok', 0],
    ['xattr set', ['xattr', 'set', I('/d/t'), 'user.k', 'v'], 'ok', 0],
    ['xattr get', ['xattr', 'get', I('/d/t'), 'user.k'], 'ok', 0],
    ['xattr get missing', ['xattr', 'get', I('/d/t'), 'user.none'], 'error', 1],
    ['xattr list', ['xattr', 'list', I('/d/t')], 'ok', 0],
    ['xattr rm', ['xattr', 'rm', I('/d/t'), 'user.k'], 'ok', 0],
    ['cp in', ['cp', P('src/a.txt'), I('/b.txt')], 'ok', 0],
    ['cp out', ['cp', I('/b.txt'), P('b.txt')], 'ok', 0],
    ['cp missing source', ['cp', I('/none'), P('none')], 'ok', 1],
    ['rm', ['rm', '-r', I('/d')], 'ok', 0],
    ['journal show', ['journal', 'show', img], 'ok', 0],
    ['journal replay --dry-run', ['journal', 'replay', img, '--dry-run'], 'ok', 0],
    ['fsck', ['fsck', '-n', img], 'ok', 0],
    ['corrupt bad kind', ['corrupt', P('c.img'), '--kind', 'no-such-kind'], 'error', 1],
    ['mkfs', ['mkfs', P('b.img'), '--root', P('src')], 'ok', 0],
    ['mkfs --estimate', ['mkfs', '--estimate', '--root', P('src')], 'ok', 0],
    ['mkfs no input', ['mkfs', P('new.img')], 'error', 2],
    ['mount missing image', ['mount', P('missing.img'), P('mnt')], 'error', 4],
    ['umount not mounted', ['umount', dir], 'error', 1],
    ['sync not mounted', ['sync', dir], 'error', 1],
    ['unknown command', ['no-such-command'], 'error', 2],
    ['unknown flag', ['ls', img, '--no-such-flag'], 'error', 2],
  ]
  fs.copyFileSync(img, P('c.img'))
  for (const [what, argv, status, exit] of cases) {
    const r = cli([...argv, '--json'])
    let doc: unknown
    try {
      doc = envelope(r.stdout)
    } catch (e) {
      t.fail(`${what}: ${(e as Error).message} (stderr: ${r.stderr.trim()})`)
      continue
    }
    const valid = validate(doc)
    t.ok(valid, `${what}: valid against the schema${valid ? '' : `: ${JSON.stringify(validate.errors)}`}`)
    const env = doc as {status: string; exit: number}
    t.equal(env.status, status, `${what}: status ${status}`)
    t.equal(r.status, exit, `${what}: exit ${exit}${r.status !== exit ? ` (stderr: ${r.stderr.trim()})` : ''}`)
    t.equal(env.exit, r.status, `${what}: the envelope's exit is the exit status`)
  }

  // razorfsck and mkfs.razorfs print the same envelope (fsck(8) exit codes in it)
  const corrupted = P('bad.img')
  fs.copyFileSync(img, corrupted)
  t.equal(cli(['corrupt', corrupted, '--kind', 'nlink-high', '-q']).status, 0, 'a damaged image')
  for (const [what, bin, argv, status, exit] of [
    ['razorfsck clean', 'razorfsck.js', ['-fn', img], 'ok', 0],
    ['razorfsck damaged', 'razorfsck.js', ['-fn', corrupted], 'ok', 4],
    ['razorfsck missing', 'razorfsck.js', [P('missing.img')], 'error', 8],
    ['mkfs.razorfs', 'mkfs.razorfs.js', [P('m.img'), '--root', P('src')], 'ok', 0],
  ] as const) {
    const r = run(bin, [...argv, '--json'])
    const doc = envelope(r.stdout)
    t.ok(validate(doc), `${what}: valid against the schema ${JSON.stringify(validate.errors ?? '')}`)
    t.equal(doc.status, status, `${what}: status ${status}`)
    t.equal(r.status, exit, `${what}: exit ${exit}`)
    t.equal(doc.exit, exit, `${what}: the envelope's exit is the exit status`)
  }
})

t.test('warnings go in the envelope, with code and path; --strict turns them into an error envelope', async (t) => {
  const dir = tmpDir(t, 'envelope-warn')
  const tar = path.join(dir, 'warn.tar')
  // a hard link to an entry the archive does not have: mkfs skips it with a warning
  fs.writeFileSync(tar, Buffer.concat([entry({name: 'x', type: '1', linkname: 'missing'}), end()]))
  const r = cli(['mkfs', path.join(dir, 'w.img'), '--tar', tar, '--json'])
  const doc = envelope(r.stdout)
  t.ok(validate(doc), `valid: ${JSON.stringify(validate.errors ?? '')}`)
  t.equal(doc.status, 'ok')
  t.equal(doc.warnings.length, 1, 'one warning')
  t.match(doc.warnings[0], {path: 'x', code: 'TAR_SKIPPED', message: /x/}, 'with its path and code')
  t.equal(r.stderr, '', 'and nothing on stderr under --json')
  const s = cli(['mkfs', path.join(dir, 's.img'), '--tar', tar, '--json', '--strict'])
  const strict = envelope(s.stdout)
  t.ok(validate(strict), `valid: ${JSON.stringify(validate.errors ?? '')}`)
  t.equal(strict.status, 'error')
  t.equal(s.status, 1)
  if (strict.status === 'error') t.equal(strict.error.code, 'ESTRICT')
  t.equal(strict.warnings.length, 1, 'the error envelope lists the warning too')
})
