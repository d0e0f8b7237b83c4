/**
 * mkfs --tar: archives made by node-tar and by hand (pax xattrs and
 * nanosecond times, raw non-UTF-8 path bytes, GNU long names and long link
 * targets, devices, fifos, hard links, duplicates, unsafe paths, gzip,
 * standard input) give exactly the entries they describe; a tar laid over
 * --root replaces and adds entries and leaves directory times as the input
 * says. Checked through the library (describeImage) and razorfs diff.
 */
import t, {type Test as TapTest} from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import {spawnSync} from 'node:child_process'
import * as tar from 'tar'
import {describeImage, Image, type ManifestEntry} from '../src/core/index.js'
import {BIN, PROJECT, cli, cliUnavailable, tmpDir} from './helpers/image.js'
import {ciItems, createCiTree} from './helpers/ci-tree.js'
import {end, entry, gnuLong, pax} from './helpers/tar-craft.js'
import {jsonResult} from './helpers/envelope.js'

const unavailable = cliUnavailable()

function entriesOf(t: TapTest, imagePath: string): Map<string, ManifestEntry> {
  const img = Image.open(imagePath)
  try {
    t.same(img.check({checkData: true}).problems, [], `${path.basename(imagePath)} is consistent`)
    return new Map(describeImage(img).map((e) => [e.path.toString('latin1'), e]))
  } finally {
    img.close()
  }
}

const LONG = 'long-' + 'd'.repeat(150) + '/' + 'f'.repeat(140)
const LINK_TARGET = '../' + 't'.repeat(180)
const RAW_NAME = Buffer.concat([Buffer.from('raw-'), Buffer.from([0xe9, 0xff]), Buffer.from('.txt')])

/** An archive exercising the formats (see the file comment). */
function craftedArchive(): Buffer {
  const bin = Buffer.from([0x00, 0x01, 0x80, 0xff, 0x0a, 0x3d, 0x20])
  return Buffer.concat([
    pax([['comment', 'global header: ignored']], true),
    entry({name: 'etc/', type: '5', mode: 0o750, mtime: 1_500_000_000}),
    pax([
      ['mtime', '1600000000.123456789'],
      ['atime', '1600000001.5'],
      ['SCHILY.xattr.user.bin', bin],
      ['SCHILY.xattr.security.selinux', Buffer.from('system_u:object_r:etc_t:s0\0')],
      ['LIBARCHIVE.xattr.user.b64', Buffer.from('aGVsbG8=')],
      ['uid', '123456'],
    ]),
    entry({name: 'etc/conf', type: '0', mode: 0o640, uid: 7, gid: 8}, Buffer.from('key=value\n')),
    pax([['path', RAW_NAME]]),
    entry({name: 'ignored-name', type: '0'}, Buffer.from('raw name\n')),
    gnuLong('L', LONG),
    entry({name: LONG.slice(0, 99), type: '0', magic: 'gnu'}, Buffer.from('long\n')),
    gnuLong('K', LINK_TARGET),
    entry({name: 'sym-long', type: '2', linkname: LINK_TARGET.slice(0, 99), magic: 'gnu', mode: 0o777}),
    entry({name: 'dev/console', type: '3', mode: 0o600, gid: 5, devmajor: 5, devminor: 1}),
    entry({name: 'dev/sda', type: '4', mode: 0o660, gid: 6, devmajor: 8, devminor: 0}),
    entry({name: 'run/initctl', type: '6', mode: 0o600}),
    entry({name: 'etc/conf-link', type: '1', linkname: 'etc/conf'}),
    entry({name: 'dup', type: '0'}, Buffer.from('first\n')),
    entry({name: 'dup', type: '0'}, Buffer.from('second wins\n')),
    entry({name: '../escape', type: '0'}, Buffer.from('no\n')),
    entry({name: 'prefixed-name', prefix: 'a/b/c', type: '0', mode: 0o600}, Buffer.from('prefix\n')),
    entry({name: 'late/', type: '5', mode: 0o700, mtime: 1_400_000_000}),
    end(),
  ])
}

t.test('a crafted archive: pax, GNU, devices, links, duplicates', {skip: unavailable}, async (t) => {
  const dir = tmpDir(t, 'tar-crafted')
  const archive = path.join(dir, 'in.tar')
  fs.writeFileSync(archive, craftedArchive())
  const r = cli(['mkfs', path.join(dir, 'a.img'), '--tar', archive, '--json'])
  t.equal(r.status, 0, r.stderr + r.stdout)
  const res = jsonResult(r.stdout)
  t.equal(res.warnings.length, 1, 'one warning (the unsafe path)')
  t.match(res.warnings[0].message, /\.\./)
  const m = entriesOf(t, path.join(dir, 'a.img'))
  const conf = m.get('/etc/conf')!
  t.equal(conf.mode, 0o640)
  t.equal(conf.uid, 123456, 'pax uid overrides the header')
  t.equal(conf.gid, 8)
  t.same(conf.mtime, {sec: 1_600_000_000, nsec: 123_456_789}, 'nanosecond pax mtime')
  const img = Image.open(path.join(dir, 'a.img'))
  t.same(img.stat(img.resolve('/etc/conf')).atime, {sec: 1_600_000_001, nsec: 500_000_000}, 'pax atime')
  img.close()
  const x = new Map(conf.xattrs!.map((a) => [a.name, a.value]))
  t.same([...x.keys()].sort(), ['security.selinux', 'user.b64', 'user.bin'])
  t.same(
    x.get('user.bin'),
    Buffer.from([0x00, 0x01, 0x80, 0xff, 0x0a, 0x3d, 0x20]),
    'binary SCHILY.xattr value, byte for byte',
  )
  t.same(x.get('security.selinux'), Buffer.from('system_u:object_r:etc_t:s0\0'))
  t.same(x.get('user.b64'), Buffer.from('hello'), 'LIBARCHIVE.xattr (base64)')
  t.equal(m.get('/etc/conf-link')?.type, 'hardlink', 'hard link')
  t.same(m.get('/etc/conf-link')?.target, Buffer.from('/etc/conf'))
  t.ok(m.get(Buffer.concat([Buffer.from('/'), RAW_NAME]).toString('latin1')), 'raw pax path bytes kept')
  t.equal(m.get('/' + LONG)?.size, 5, 'GNU long name')
  t.same(m.get('/sym-long')?.target, Buffer.from(LINK_TARGET), 'GNU long link target')
  t.same(m.get('/dev/console')?.dev, {major: 5, minor: 1})
  t.equal(m.get('/dev/console')?.type, 'chardev')
  t.equal(m.get('/dev/console')?.gid, 5)
  t.same(m.get('/dev/sda')?.dev, {major: 8, minor: 0})
  t.equal(m.get('/dev/sda')?.type, 'blockdev')
  t.equal(m.get('/run/initctl')?.type, 'fifo')
  t.equal(m.get('/dup')?.size, 12, 'a later entry replaces an earlier one')
  t.notOk(m.get('/escape'), 'no entry escapes the root')
  t.equal(m.get('/a/b/c/prefixed-name')?.mode, 0o600, 'ustar prefix field')
  t.equal(m.get('/etc')?.mode, 0o750)
  t.same(
    m.get('/etc')?.mtime,
    {sec: 1_500_000_000, nsec: 0},
    'directory time as archived, after its contents were added',
  )
  t.equal(m.get('/late')?.mode, 0o700)
  t.equal(m.get('/dev')?.mode, 0o755, 'implied parent directory')

  // gzip-compressed, and from standard input (streamed with --size, spooled with auto)
  fs.writeFileSync(archive + '.gz', zlib.gzipSync(fs.readFileSync(archive)))
  const rg = cli(['mkfs', path.join(dir, 'gz.img'), '--tar', archive + '.gz', '-q', '--timestamp', '1700000000'])
  t.equal(rg.status, 0, rg.stderr)
  for (const size of ['8M', 'auto']) {
    const rs = spawnSync(
      process.execPath,
      [
        BIN,
        'mkfs',
        path.join(dir, `stdin-${size}.img`),
        '--tar',
        '-',
        '--size',
        size,
        '-q',
        '--timestamp',
        '1700000000',
      ],
      {
        cwd: PROJECT,
        input: fs.readFileSync(archive + '.gz'),
        env: {...process.env, CI: 'true', NODE_OPTIONS: ''},
        encoding: 'utf8',
      },
    )
    t.equal(rs.status, 0, rs.stderr)
    const d = cli(['diff', path.join(dir, 'gz.img'), path.join(dir, `stdin-${size}.img`), '--times'])
    t.equal(d.status, 0, `stdin (--size ${size}) gives the same entries: ${d.stdout}`)
  }
  // diff against the archive itself
  const d = cli(['diff', path.join(dir, 'a.img'), archive, '--times'])
  t.equal(d.status, 0, d.stdout + d.stderr)
  const notTar = path.join(dir, 'not.tar')
  fs.writeFileSync(notTar, 'this is not a tar archive\n'.repeat(100))
  const rn = cli(['mkfs', path.join(dir, 'n.img'), '--tar', notTar, '--size', '8M'])
  t.equal(rn.status, 1, 'not a tar archive')
  t.match(rn.stderr, /not a tar archive/)
  t.notOk(fs.existsSync(path.join(dir, 'n.img')), 'the failed image is removed')
})

t.test('a node-tar archive of a tree equals the tree; a tar over --root', {skip: unavailable}, async (t) => {
  const dir = tmpDir(t, 'tar-tree')
  const src = path.join(dir, 'src')
  createCiTree(src, ciItems('tar-tree', 60, {utf8Names: true}))
  const archive = path.join(dir, 'tree.tar')
  // (node-tar 7.5 never finishes an archive of a directory holding a fifo among other files: leave fifos out)
  await tar.create({file: archive, cwd: src, portable: false, filter: (_p, st) => !('isFIFO' in st && st.isFIFO())}, [
    '.',
  ])
  const r = cli(['mkfs', path.join(dir, 't.img'), '--tar', archive, '-q'])
  t.equal(r.status, 0, r.stderr)
  // node-tar keeps millisecond times and no xattrs: compare the rest
  const d = cli(['diff', path.join(dir, 't.img'), src, '--ignore', 'xattrs', '--exclude', 'fifo'])
  t.equal(d.status, 0, d.stdout)
  const dt = cli(['diff', path.join(dir, 't.img'), archive, '--times'])
  t.equal(dt.status, 0, dt.stdout)

  // overlay: a tree, then a tar that replaces a file, turns a directory into a file and adds one
  const base = path.join(dir, 'base')
  fs.mkdirSync(path.join(base, 'etc/sub'), {recursive: true})
  fs.writeFileSync(path.join(base, 'etc/keep'), 'keep\n')
  fs.writeFileSync(path.join(base, 'etc/replace'), 'old\n')
  fs.writeFileSync(path.join(base, 'etc/sub/x'), 'x\n')
  fs.utimesSync(path.join(base, 'etc'), 1_000_000_000, 1_000_000_000)
  const overlay = path.join(dir, 'overlay.tar')
  fs.writeFileSync(
    overlay,
    Buffer.concat([
      entry({name: 'etc/replace', type: '0', mode: 0o600}, Buffer.from('new content\n')),
      entry({name: 'etc/sub', type: '0'}, Buffer.from('was a directory\n')),
      entry({name: 'etc/added', type: '0'}, Buffer.from('added\n')),
      end(),
    ]),
  )
  const ro = cli(['mkfs', path.join(dir, 'o.img'), '--root', base, '--tar', overlay, '-q'])
  t.equal(ro.status, 0, ro.stderr)
  const m = entriesOf(t, path.join(dir, 'o.img'))
  t.equal(m.get('/etc/keep')?.size, 5)
  t.equal(m.get('/etc/replace')?.size, 12)
  t.equal(m.get('/etc/replace')?.mode, 0o600)
  t.equal(m.get('/etc/sub')?.type, 'file')
  t.notOk(m.get('/etc/sub/x'))
  t.equal(m.get('/etc/added')?.size, 6)
  t.same(m.get('/etc')?.mtime, {sec: 1_000_000_000, nsec: 0}, "the tree's directory time survives the overlay")
})
