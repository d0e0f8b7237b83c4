/**
 * The manifest format (manifest.ts, docs/MANIFEST.md): byte escaping, times,
 * errors with line numbers, the JSON form; and through the binary: dump
 * --manifest → mkfs --spec round trips, a spec adding devices and owners,
 * content from src=, sha256 checks.
 */
import t from 'tap'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {
  escapeBytes,
  formatEntry,
  formatManifest,
  formatTime,
  manifestFromJson,
  manifestToJson,
  parseManifest,
  parseTime,
  unescapeBytes,
  describeImage,
  Image,
  type ManifestEntry,
} from '../src/core/index.js'
import {PROJECT, cli, cliUnavailable, tmpDir} from './helpers/image.js'
import {validate} from './helpers/json-schema.js'
import {ciItems, createCiTree, REF_TIME} from './helpers/ci-tree.js'
import {jsonResult} from './helpers/envelope.js'

t.test('escaping', async (t) => {
  const cases: Array<[Buffer, string]> = [
    [Buffer.from('/usr/bin/ls'), '/usr/bin/ls'],
    [Buffer.from('a b\tc'), 'a\\x20b\\x09c'],
    [Buffer.from('back\\slash'), 'back\\\\slash'],
    [Buffer.from('ünïcödé ✓'), 'ünïcödé\\x20✓'],
    [Buffer.from([0x61, 0xff, 0xfe, 0x00, 0x0a]), 'a\\xff\\xfe\\x00\\x0a'],
    [Buffer.from([0xc3]), '\\xc3'], // a truncated UTF-8 sequence
    [Buffer.from('\u200b'), '\\xe2\\x80\\x8b'], // a zero-width space is not printable
  ]
  for (const [raw, text] of cases) {
    t.equal(escapeBytes(raw), text, `escape ${JSON.stringify(text)}`)
    t.same(unescapeBytes(text), raw, `unescape ${JSON.stringify(text)}`)
  }
  // every byte value round-trips
  const all = Buffer.from(Array.from({length: 256}, (_, i) => i))
  t.same(unescapeBytes(escapeBytes(all)), all)
  t.throws(() => unescapeBytes('bad\\q'), /escape/)
  t.throws(() => unescapeBytes('a b'), /whitespace/)
})

t.test('times', async (t) => {
  for (const [ts, text] of [
    [{sec: 0, nsec: 0}, '0.000000000'],
    [{sec: 1_700_000_000, nsec: 5}, '1700000000.000000005'],
    [{sec: -2, nsec: 500_000_000}, '-1.500000000'],
  ] as const) {
    t.equal(formatTime(ts), text)
    t.same(parseTime(text), ts)
  }
  t.same(parseTime('12'), {sec: 12, nsec: 0})
  t.same(parseTime('12.5'), {sec: 12, nsec: 500_000_000})
  t.throws(() => parseTime('12.'), /not a time/)
  t.throws(() => parseTime('1e9'), /not a time/)
})

t.test('lines, errors and the JSON form', async (t) => {
  const text = [
    '#razorfs-manifest 1',
    '',
    '/ dir mode=0755 uid=0 gid=0 mtime=1700000000',
    '/dev dir',
    '/dev/console char mode=0600 uid=0 gid=5 dev=5,1   # trailing fields are KEY=VALUE only',
  ].join('\n')
  t.throws(() => parseManifest(text, 'm'), /m:5: '#' is not KEY=VALUE/, 'a line number in errors')
  const good = parseManifest(text.replace(/ {3}#.*/, ''), 'm')
  t.equal(good.length, 3)
  t.same(good[2], {
    path: Buffer.from('/dev/console'),
    type: 'chardev',
    mode: 0o600,
    uid: 0,
    gid: 5,
    dev: {major: 5, minor: 1},
    line: 5,
  })
  t.equal(formatEntry(good[2]!), '/dev/console char mode=0600 uid=0 gid=5 dev=5,1')
  const bad: Array<[string, RegExp]> = [
    ['/x frob', /unknown type/],
    ['x file', /must start with '\/'/],
    ['/a/../b file', /'\.\.'/],
    ['/x file mode=999', /octal/],
    ['/x file mode=0644 mode=0600', /twice/],
    ['/x symlink', /needs target/],
    ['/x char', /needs dev/],
    ['/x dir size=3', /regular files/],
    ['/x hardlink target=/y mode=0644', /hardlink/],
    ['/x file sha256=abc', /64/],
    ['/x file xattr.nonamespace=1', /namespace/],
    ['/x file colour=blue', /unknown key/],
    ['/ file', /root is a directory/],
    ['/x file uid=-1', /number/],
  ]
  for (const [line, re] of bad) t.throws(() => parseManifest(line, 'm'), re, line)
  // JSON round trip of every field
  const all: ManifestEntry[] = parseManifest(
    [
      '/ dir mode=0755 uid=0 gid=0 mtime=1.000000001 atime=2.000000000 ctime=3.000000000 crtime=4.000000000',
      '/f\\x20x file mode=4755 uid=1 gid=2 mtime=5.000000000 size=3 sha256=' +
        'a'.repeat(64) +
        ' flags=nocompress xattr.user.k\\x3dx=v\\x00w xattr.security.selinux=l',
      '/l symlink target=f\\x20x mtime=6.000000000',
      '/h hardlink target=/f\\x20x',
      '/b block dev=8,1',
      '/p fifo',
      '/s socket',
      '/n file src=files/n\\x20x',
    ].join('\n'),
  )
  const json = manifestToJson(all)
  const back = manifestFromJson(JSON.parse(JSON.stringify(json)))
  t.equal(formatManifest(back), formatManifest(all), 'the JSON form carries everything')
  t.equal(back[1]!.xattrs![0]!.name, 'user.k=x', "'=' in an xattr name")
  t.same(back[1]!.xattrs![0]!.value, Buffer.from('v\0w'))
  t.equal(parseManifest(JSON.stringify(json)).length, all.length, 'parseManifest takes the JSON form too')
  // the published JSON Schema accepts what we write, and refuses what we refuse
  const schema = JSON.parse(fs.readFileSync(path.join(PROJECT, 'docs/manifest.schema.json'), 'utf8'))
  t.same(
    validate(schema, JSON.parse(JSON.stringify(json))),
    [],
    'manifestToJson output is valid against docs/manifest.schema.json',
  )
  const invalid = [
    {entries: [{path: 'relative', type: 'file'}]},
    {entries: [{path: '/x', type: 'hardlink', target: '/y', mode: '0644'}]},
    {entries: [{path: '/x', type: 'char'}]},
    {entries: [{path: '/x', type: 'dir', size: 3}]},
    {entries: [{path: '/x', type: 'file', mode: '9'}]},
    {entries: [{path: '/a b', type: 'file'}]},
    {entries: [{path: '/x', type: 'file', xattrs: {nonamespace: 'v'}}]},
    {entries: [{path: '/x', type: 'file', colour: 'blue'}]},
  ]
  for (const doc of invalid) {
    t.not(validate(schema, doc).length, 0, `the schema refuses ${JSON.stringify(doc)}`)
    t.throws(() => manifestFromJson(doc), `and so does the reader: ${JSON.stringify(doc)}`)
  }
  t.throws(() => manifestFromJson({razorfsManifest: 2, entries: []}), /version 2/)
  t.throws(() => manifestFromJson({entries: [{path: '/x', type: 'file', mode: 'rwx'}]}), /entry 1: mode/)
})

const unavailable = cliUnavailable()

t.test('dump --manifest and mkfs --spec round trip', {skip: unavailable}, async (t) => {
  const dir = tmpDir(t, 'manifest')
  const src = path.join(dir, 'src')
  createCiTree(src, ciItems('manifest-tree', 50))
  const one = path.join(dir, 'one.img')
  let r = cli(['mkfs', one, '--root', src, '--all-root', '--timestamp', String(REF_TIME), '-q'])
  t.equal(r.status, 0, r.stderr)
  r = cli(['dump', one, '--manifest'])
  t.equal(r.status, 0, r.stderr)
  const manifest = path.join(dir, 'one.manifest')
  fs.writeFileSync(manifest, r.stdout)
  t.match(r.stdout, /^#razorfs-manifest 1\n\/ dir mode=0[0-7]{3} uid=0 gid=0 mtime=1700000000\.000000000\n/)
  t.match(r.stdout, /\n\/usr\/bin\/tool-alias hardlink target=\/usr\/bin\/tool\n/, 'hard links name the first path')
  t.match(r.stdout, /\/etc\/bad-\\xff\\xfe-name file /, 'non-UTF-8 names escaped')
  t.match(r.stdout, /xattr\.user\.bin=\\x00\\x80\\xff\\x01/)
  t.notMatch(r.stdout, /atime=/, 'a reproducible image has no separate atimes to list')
  // rebuild from the tree (different owners, no timestamp) with the manifest on top: the same entries
  const two = path.join(dir, 'two.img')
  r = cli(['mkfs', two, '--root', src, '--spec', manifest, '-q'])
  t.equal(r.status, 0, r.stderr)
  let d = cli(['diff', one, two, '--times'])
  t.equal(d.status, 0, `equivalent images: ${d.stdout}`)
  const dm = cli(['dump', two, '--manifest'])
  t.equal(dm.stdout, fs.readFileSync(manifest, 'utf8'), 'and the same manifest')
  // the JSON form works the same way
  const jm = cli(['dump', one, '--manifest', '--json'])
  fs.writeFileSync(path.join(dir, 'one.json'), jm.stdout)
  const schema = JSON.parse(fs.readFileSync(path.join(PROJECT, 'docs/manifest.schema.json'), 'utf8'))
  t.same(validate(schema, jsonResult(jm.stdout)), [], 'dump --manifest --json is valid against the schema')
  r = cli(['mkfs', path.join(dir, 'three.img'), '--root', src, '--spec', path.join(dir, 'one.json'), '-q'])
  t.equal(r.status, 0, r.stderr)
  d = cli(['diff', one, path.join(dir, 'three.img'), '--times'])
  t.equal(d.status, 0, d.stdout)

  // an edited manifest: the change shows up, and diff sees it
  const edited = fs.readFileSync(manifest, 'utf8').replace(/^(\/usr\/bin\/tool file mode=)0755/m, '$10700')
  t.not(edited, fs.readFileSync(manifest, 'utf8'))
  fs.writeFileSync(path.join(dir, 'edited'), edited)
  r = cli(['mkfs', path.join(dir, 'four.img'), '--root', src, '--spec', path.join(dir, 'edited'), '-q'])
  t.equal(r.status, 0, r.stderr)
  d = cli(['diff', one, path.join(dir, 'four.img'), '--json'])
  t.equal(d.status, 1)
  t.same(jsonResult(d.stdout).differences, [{path: '/usr/bin/tool', kind: 'mode', a: '0755', b: '0700'}])

  // content that does not match the manifest's hash is refused
  fs.appendFileSync(path.join(src, 'usr/lib/big.dat'), 'changed')
  r = cli(['mkfs', path.join(dir, 'five.img'), '--root', src, '--spec', manifest])
  t.equal(r.status, 1)
  t.match(r.stderr, /big\.dat.*(sha256|bytes)/)
  t.notOk(fs.existsSync(path.join(dir, 'five.img')))
})

t.test('a spec adds devices, owners and files an unprivileged build cannot make', {skip: unavailable}, async (t) => {
  const dir = tmpDir(t, 'spec')
  fs.mkdirSync(path.join(dir, 'files'))
  fs.writeFileSync(path.join(dir, 'files', 'motd'), 'Welcome\n')
  const spec = path.join(dir, 'devices.manifest')
  fs.writeFileSync(
    spec,
    [
      '# device table',
      '/dev/console char mode=0600 uid=0 gid=5 dev=5,1',
      '/dev/null char mode=0666 dev=1,3',
      '/dev/sda1 block mode=0660 gid=6 dev=8,1',
      '/etc/motd file mode=0644 src=files/motd sha256=' + crypto.createHash('sha256').update('Welcome\n').digest('hex'),
      '/etc/issue file',
      '/var/run symlink target=../run',
      '/run dir mode=0755',
      '/home/user dir mode=0700 uid=1000 gid=1000 xattr.security.selinux=user_home_dir_t\\x00',
      '/usr/bin/ping file mode=4755 src=files/motd xattr.security.capability=\\x01\\x00\\x00\\x02\\x00\\x20\\x00\\x00',
    ].join('\n'),
  )
  const img = path.join(dir, 'spec.img')
  const r = cli(['mkfs', img, '--spec', spec, '--timestamp', '1600000000', '-q'])
  t.equal(r.status, 0, r.stderr)
  const image = Image.open(img)
  try {
    const m = new Map(describeImage(image).map((e) => [e.path.toString('latin1'), e]))
    t.same(m.get('/dev/console'), {
      path: Buffer.from('/dev/console'),
      type: 'chardev',
      mode: 0o600,
      uid: 0,
      gid: 5,
      mtime: {sec: 1_600_000_000, nsec: 0},
      dev: {major: 5, minor: 1},
    })
    t.equal(m.get('/dev/sda1')?.type, 'blockdev')
    t.equal(m.get('/etc/motd')?.size, 8)
    t.equal(m.get('/etc/issue')?.size, 0)
    t.same(m.get('/var/run')?.target, Buffer.from('../run'))
    t.equal(m.get('/home/user')?.uid, 1000)
    t.equal(m.get('/home/user')?.mode, 0o700)
    t.same(m.get('/home/user')?.xattrs, [{name: 'security.selinux', value: Buffer.from('user_home_dir_t\0')}])
    t.equal(m.get('/usr/bin/ping')?.mode, 0o4755)
    t.equal(m.get('/home')?.mode, 0o755, 'a missing parent is made')
    t.same(image.check().problems, [])
  } finally {
    image.close()
  }
  // errors name the manifest line
  fs.writeFileSync(spec, '/etc/motd file size=10\n')
  const e1 = cli(['mkfs', path.join(dir, 'e1.img'), '--spec', spec])
  t.equal(e1.status, 1)
  t.match(e1.stderr, /devices\.manifest:1: \/etc\/motd: no content/)
  fs.writeFileSync(spec, '/a hardlink target=/nowhere\n')
  const e2 = cli(['mkfs', path.join(dir, 'e2.img'), '--spec', spec])
  t.equal(e2.status, 1)
  t.match(e2.stderr, /devices\.manifest:1: .*does not exist/)
  fs.writeFileSync(spec, '/a wat\n')
  const e3 = cli(['mkfs', path.join(dir, 'e3.img'), '--spec', spec])
  t.not(e3.status, 0)
  t.match(e3.stderr, /devices\.manifest:1: unknown type 'wat'/)
})
