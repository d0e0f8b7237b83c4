/**
 * mkfs options for CI: --exclude patterns, --all-root and id maps,
 * --size auto shrinking with --headroom (and a journal that works after),
 * --estimate, --progress (plain lines, NDJSON events), --json summary,
 * --strict; razorfs diff's exit statuses and options; the data pipeline
 * giving the same image with any number of workers (library).
 */
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import {AttrPolicy, ExcludePattern, Image, parseIdMap} from '../src/core/index.js'
import {cli, cliUnavailable, tmpDir} from './helpers/image.js'
import {ciItems, createCiTree} from './helpers/ci-tree.js'
import {jsonResult, jsonError} from './helpers/envelope.js'

t.test('exclude patterns', async (t) => {
  const cases: Array<[string, string, 'file' | 'dir', boolean]> = [
    ['*.o', 'a/b/x.o', 'file', true],
    ['*.o', 'x.o', 'file', true],
    ['*.o', 'a/x.of', 'file', false],
    ['.git', 'src/.git', 'dir', true],
    ['/var/cache', 'var/cache', 'dir', true],
    ['/var/cache', 'x/var/cache', 'dir', false],
    ['usr/share/doc', 'usr/share/doc', 'dir', true],
    ['usr/share/doc', 'opt/usr/share/doc', 'dir', false],
    ['cache/', 'a/cache', 'file', false],
    ['cache/', 'a/cache', 'dir', true],
    ['**/tmp/*', 'a/b/tmp/x', 'file', true],
    ['**/tmp/*', 'tmp/x', 'file', true],
    ['usr/**/*.a', 'usr/lib/x/libc.a', 'file', true],
    ['f?.txt', 'f1.txt', 'file', true],
    ['f?.txt', 'f10.txt', 'file', false],
    ['[!a]*', 'bcd', 'file', true],
    ['[!a]*', 'abc', 'file', false],
    ['\\*', '*', 'file', true],
    ['\\*', 'x', 'file', false],
  ]
  for (const [pat, rel, type, want] of cases)
    t.equal(new ExcludePattern(pat).matches(Buffer.from(rel), type), want, `${pat} ~ ${rel} (${type})`)
  t.throws(() => new ExcludePattern(''))
})

t.test('owner maps and the attribute policy', async (t) => {
  t.same(parseIdMap('1000:0,2000:100:10'), [
    {from: 1000, to: 0, count: 1},
    {from: 2000, to: 100, count: 10},
  ])
  t.throws(() => parseIdMap('1000'), /FROM:TO/)
  t.throws(() => parseIdMap('1:4294967295:2'), /range/)
  const p = new AttrPolicy({uidMap: parseIdMap('1000:0,2000:100:10'), gidMap: parseIdMap('5:6')})
  t.same(p.owner(1000, 5), {uid: 0, gid: 6})
  t.same(p.owner(2009, 7), {uid: 109, gid: 7})
  t.same(p.owner(2010, 7), {uid: 2010, gid: 7})
  t.same(
    new AttrPolicy({allRoot: true, uidMap: parseIdMap('0:42')}).owner(1000, 1000),
    {uid: 42, gid: 0},
    'all-root, then the maps',
  )
  const T = {sec: 1000, nsec: 0}
  const r = new AttrPolicy({timestamp: T}).source({
    mtime: {sec: 999, nsec: 5},
    atime: {sec: 5, nsec: 0},
    ctime: {sec: 2000, nsec: 0},
  })
  t.same(r.mtime, {sec: 999, nsec: 5}, 'older mtimes are kept')
  t.same(r.atime, r.mtime, 'atime becomes the mtime')
  t.same(r.ctime, r.mtime, 'ctime becomes the mtime')
  t.same(new AttrPolicy({timestamp: T}).source({mtime: {sec: 1001, nsec: 0}}).mtime, T, 'newer mtimes are clamped')
})

const unavailable = cliUnavailable()

t.test('mkfs options through the binary', {skip: unavailable}, async (t) => {
  const dir = tmpDir(t, 'mkfs-opts')
  const src = path.join(dir, 'src')
  createCiTree(src, ciItems('opts-tree', 40))
  fs.chownSync(path.join(src, 'etc'), 1000, 1000)

  // --exclude, --all-root, --uid-map
  let r = cli([
    'mkfs',
    path.join(dir, 'x.img'),
    '--root',
    src,
    '--exclude',
    '*.log',
    '--exclude',
    '/var/cache',
    '--exclude',
    'deep/',
    '--uid-map',
    '1000:7',
    '--gid-map',
    '1000:8',
    '--json',
  ])
  t.equal(r.status, 0, r.stderr)
  let img = Image.open(path.join(dir, 'x.img'))
  const names = (p: string) => img.readdir(img.resolve(p)).map((e) => e.name.toString('latin1'))
  t.notOk(names('/var').includes('cache'), 'anchored pattern')
  t.notOk(names('/opt').includes('deep'), 'directory pattern takes its contents along')
  t.ok(
    names('/var/log').every((n) => !n.endsWith('.log')),
    'name pattern at any depth',
  )
  t.same([img.stat(img.resolve('/etc')).uid, img.stat(img.resolve('/etc')).gid], [7, 8], 'id maps')
  img.close()
  r = cli(['mkfs', path.join(dir, 'root.img'), '--root', src, '--all-root', '-q'])
  t.equal(r.status, 0, r.stderr)
  img = Image.open(path.join(dir, 'root.img'))
  t.equal(img.stat(img.resolve('/etc')).uid, 0, '--all-root')
  img.close()

  // --size auto shrinks; --headroom adds room; the journal works afterwards
  r = cli(['mkfs', '--estimate', '--root', src, '--json'])
  t.equal(r.status, 0, r.stderr)
  const est = jsonResult(r.stdout).estimate as number
  r = cli(['mkfs', path.join(dir, 'auto.img'), '--root', src, '--json'])
  const auto = jsonResult(r.stdout)
  t.ok(auto.size < est / 2, `shrunk: ${auto.size} < ${est} / 2`)
  t.ok(auto.freeBlocks <= 1, `no room left: ${auto.freeBlocks} free blocks`)
  t.equal(fs.statSync(path.join(dir, 'auto.img')).size, auto.size, 'the file is the image size')
  r = cli(['mkfs', path.join(dir, 'room.img'), '--root', src, '--headroom', '1M', '--json'])
  const room = jsonResult(r.stdout)
  t.ok(room.freeBlocks >= 256 && room.freeBlocks <= 258, `1M of headroom: ${room.freeBlocks} free blocks`)
  r = cli(['mkfs', path.join(dir, 'pct.img'), '--root', src, '--headroom', '50%', '--json'])
  const pct = jsonResult(r.stdout)
  t.ok(
    Math.abs(pct.freeBlocks - auto.usedBlocks / 2) < 16,
    `50% headroom: ${pct.freeBlocks} free for ${auto.usedBlocks} used`,
  )
  img = Image.open(path.join(dir, 'room.img'), {readOnly: false})
  const f = img.create(1, 'after-mkfs', {})
  img.write(f, 0, Buffer.alloc(500_000, 7))
  img.close()
  img = Image.open(path.join(dir, 'room.img'))
  t.same(img.check({checkData: true}).problems, [], 'consistent after a journaled write')
  t.equal(img.stat(img.resolve('/after-mkfs')).size, 500_000)
  img.close()
  r = cli(['mkfs', path.join(dir, 'nj.img'), '--root', src, '--journal-size', '0', '-q'])
  t.equal(r.status, 0, r.stderr)
  r = cli(['mkfs', path.join(dir, 'bad.img'), '--root', src, '--size', '64M', '--headroom', '1M'])
  t.equal(r.status, 2, '--headroom needs --size auto')

  // --progress json: NDJSON events on stderr; --json summary on stdout
  r = cli(['mkfs', path.join(dir, 'p.img'), '--root', src, '--progress', 'json', '--json'])
  t.equal(r.status, 0, r.stderr)
  const events = r.stderr
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  t.same(
    events.filter((e) => e.event === 'phase').map((e) => e.phase),
    ['tree', 'write', 'fit'],
  )
  t.equal(events[0].event, 'start')
  const done = events[events.length - 1]
  t.equal(done.event, 'done')
  t.equal(done.files, jsonResult(r.stdout).files)
  t.ok(events.every((e) => typeof e.elapsed === 'number'))
  const summary = jsonResult(r.stdout)
  for (const k of ['files', 'directories', 'bytesIn', 'size', 'compressionRatio', 'seconds'])
    t.type(summary[k], 'number', `summary has ${k}`)
  // plain lines under CI; nothing with --quiet
  r = cli(['mkfs', path.join(dir, 'p.img'), '--root', src, '--force'])
  t.match(r.stderr, /^razorfs mkfs: Copying .*\.\.\.$/m)
  r = cli(['mkfs', path.join(dir, 'p.img'), '--root', src, '--force', '-q'])
  t.equal(r.stderr, '')
  t.equal(r.stdout, '')

  // --strict: a warning fails the build and removes the image
  const unreadable = path.join(src, 'etc', 'unreadable-dir')
  fs.mkdirSync(unreadable)
  fs.writeFileSync(path.join(unreadable, 'x'), 'x')
  fs.chmodSync(unreadable, 0)
  const root = process.getuid?.() === 0
  // root reads anything: make a warning another way then (a hard link target missing from a tar overlay)
  const warnTar = path.join(dir, 'warn.tar')
  const {entry, end} = await import('./helpers/tar-craft.js')
  fs.writeFileSync(warnTar, Buffer.concat([entry({name: 'x', type: '1', linkname: 'missing'}), end()]))
  const args = ['mkfs', path.join(dir, 's.img'), '--root', src, ...(root ? ['--tar', warnTar] : [])]
  r = cli(args)
  t.equal(r.status, 0, 'warnings alone do not fail')
  t.match(r.stderr, /warning/)
  const kept = fs.readFileSync(path.join(dir, 's.img'))
  r = cli([...args, '--force', '--strict'])
  t.equal(r.status, 1, '--strict fails')
  t.match(r.stderr, /--strict/)
  t.ok(fs.readFileSync(path.join(dir, 's.img')).equals(kept), '--strict over an existing image leaves it as it was')
  fs.rmSync(path.join(dir, 's.img'))
  r = cli([...args, '--strict'])
  t.equal(r.status, 1, '--strict fails')
  t.notOk(fs.existsSync(path.join(dir, 's.img')), '--strict removes the new image')
  r = cli([...args, '--strict', '--json'])
  t.equal(jsonError(r.stdout).code, 'ESTRICT')
  fs.chmodSync(unreadable, 0o755)
})

t.test('diff exit statuses and options', {skip: unavailable}, async (t) => {
  const dir = tmpDir(t, 'diff')
  const src = path.join(dir, 'src')
  createCiTree(src, ciItems('diff-tree', 30))
  const img = path.join(dir, 'd.img')
  let r = cli(['mkfs', img, '--root', src, '-q'])
  t.equal(r.status, 0, r.stderr)
  r = cli(['diff', img, src, '--times'])
  t.equal(r.status, 0, `equal to its tree: ${r.stdout}`)
  t.equal(r.stdout, '')
  // each kind of change is found
  fs.chmodSync(path.join(src, 'usr/bin/tool'), 0o700)
  fs.writeFileSync(path.join(src, 'etc/new'), 'new')
  fs.rmSync(path.join(src, 'usr/share/empty'))
  fs.writeFileSync(path.join(src, 'usr/lib/big.dat'), 'shorter')
  fs.rmSync(path.join(src, 'usr/share/tool-too'))
  fs.writeFileSync(path.join(src, 'usr/share/tool-too'), 'a copy, not a link')
  fs.utimesSync(path.join(src, 'etc/latest'), 5, 5) // follows the link: the target's times
  r = cli(['diff', img, src, '--json'])
  t.equal(r.status, 1)
  const kinds = jsonResult(r.stdout).differences.map((d: {path: string; kind: string}) => `${d.path} ${d.kind}`)
  for (const k of [
    '/usr/bin/tool mode',
    '/etc/new only-in-b',
    '/usr/share/empty only-in-a',
    '/usr/lib/big.dat size',
    '/usr/lib/big.dat content',
    '/usr/share/tool-too links',
  ])
    t.ok(kinds.includes(k), `finds ${k}`)
  t.notOk(
    kinds.some((k: string) => k.endsWith('mtime')),
    'times only with --times',
  )
  r = cli(['diff', img, src, '--times', '--json'])
  t.ok(
    jsonResult(r.stdout).differences.some((d: {kind: string}) => d.kind === 'mtime'),
    '--times compares mtimes',
  )
  r = cli([
    'diff',
    img,
    src,
    '--ignore',
    'mode,content,size,links',
    '--exclude',
    'new',
    '--exclude',
    'empty',
    '--exclude',
    'tool-too',
  ])
  t.equal(r.status, 0, `--ignore and --exclude: ${r.stdout}`)
  r = cli(['diff', img, src])
  t.match(r.stdout, /^\/usr\/bin\/tool: mode: 0755 \| 0700$/m)
  t.match(r.stdout, new RegExp(`^only in ${src.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: /etc/new \\(file\\)$`, 'm'))
  r = cli(['diff', img, path.join(dir, 'missing')])
  t.equal(r.status, 2, 'trouble')
  r = cli(['diff', img, src, '--ignore', 'colour'])
  t.equal(r.status, 2, 'a bad option is trouble too')
  r = cli(['diff', img, img])
  t.equal(r.status, 0, 'an image equals itself')
})
