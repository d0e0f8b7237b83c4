/**
 * `razorfs cp` round trips through the binary: the generated mixed tree
 * host → image (cp -a DIR/. IMG:) → host (cp -a IMG: OUT), and image →
 * image, each compared with the original (compare.ts: types, modes, owners,
 * nanosecond mtimes, content hashes, symlink targets, rdev, xattrs, hard
 * link groups, hole layout in the image); on the host, holes are checked
 * through allocated blocks. Then what cp does without -p, standard input,
 * -n/-f, and the destination rules of cp(1).
 */
import t from 'tap'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {Image} from '../src/core/index.js'
import {compare, describeHost, describeImage, formatDiffs, summary, type Description} from './helpers/compare.js'
import {cli, cliUnavailable, tmpDir, MiB} from './helpers/image.js'
import {mixedTree} from './helpers/tree.js'
import {xattrLib} from './helpers/xattr.js'

const isRoot = process.getuid?.() === 0
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex')

/** Regular files whose copy holds more allocated space than their data needs (holes filled with zeros). */
function filledHoles(orig: Description, copy: Description): string[] {
  const out: string[] = []
  for (const [p, e] of copy.entries) {
    if (e.type !== 'file' || e.allocated === undefined) continue
    const o = orig.entries.get(p)
    if (!o?.data) continue
    // the data runs rounded out to 4 KiB blocks: what a sparse copy needs at most (plus one block of slack per run)
    let need = 0
    for (const [s, end] of o.data) need += (Math.ceil(end / 4096) - Math.floor(s / 4096) + 1) * 4096
    if (e.allocated > need)
      out.push(`${p}: ${e.allocated} bytes allocated for ${o.data.length} data run(s) needing at most ${need}`)
  }
  return out
}

function main(): void {
  t.test('cp -a: host → image → host and image → image lose nothing', async (t) => {
    const root = await mixedTree()
    const dir = tmpDir(t, 'cp-rt')
    const img = path.join(dir, 'rt.img')
    t.equal(cli(['mkfs', img, '--size', '256M', '-q']).status, 0, 'mkfs')
    const host = describeHost(root)

    let r = cli(['cp', '-a', `${root}/.`, `${img}:`])
    t.equal(r.status, 0, `cp -a into the image exits 0${r.status ? `: ${r.stderr}` : ''}`)
    t.equal(r.stderr, '', 'no warnings copying in')
    const i1 = Image.open(img)
    const inImage = describeImage(i1)
    const check = i1.check()
    i1.close()
    t.comment(`image: ${summary(inImage)}`)
    let diffs = compare(host, inImage)
    t.same(diffs, [], `image equals the host tree${diffs.length ? `:\n${formatDiffs(diffs)}` : ''}`)
    t.same(check.problems, [], 'the image checks clean')

    const out = path.join(dir, 'out')
    r = cli(['cp', '-a', `${img}:`, out])
    t.equal(r.status, 0, `cp -a out of the image exits 0${r.status ? `: ${r.stderr}` : ''}`)
    t.equal(r.stderr, '', 'no warnings copying out')
    const back = describeHost(out)
    diffs = compare(host, back)
    t.same(diffs, [], `the copy out equals the original${diffs.length ? `:\n${formatDiffs(diffs)}` : ''}`)
    const filled = filledHoles(host, back)
    t.same(filled, [], 'holes stay holes on the host (allocated blocks)')
    t.equal(fs.statSync(path.join(out, 'sparse/all-hole')).blocks, 0, 'a 10 MiB all-hole file allocates nothing')
    t.equal(fs.statSync(path.join(out, 'sparse/zeros-1m')).blocks, 0, 'a file of written zeros comes out as a hole')
    t.equal(
      fs.lstatSync(path.join(out, 'times/pre-1970'), {bigint: true}).mtimeNs,
      -1_000_000_000_123_456_789n,
      'a pre-1970 time to the nanosecond',
    )
    if (xattrLib())
      t.ok(back.entries.get('/xattrs/big-value')?.xattrs?.get('user.big')?.length === 3000, 'xattrs come back')

    // image → image, into another image and within the same one
    const img2 = path.join(dir, 'rt2.img')
    t.equal(cli(['mkfs', img2, '--size', '256M', '-q']).status, 0)
    r = cli(['cp', '-a', `${img}:`, `${img2}:/`])
    t.equal(r.status, 0, `cp -a image → image exits 0${r.status ? `: ${r.stderr}` : ''}`)
    const i2 = Image.open(img2)
    diffs = compare(host, describeImage(i2))
    t.same(i2.check().problems, [], 'the second image checks clean')
    i2.close()
    t.same(diffs, [], `image → image copy equals the original${diffs.length ? `:\n${formatDiffs(diffs)}` : ''}`)
    r = cli(['cp', '-a', `${img}:/links`, `${img}:/links-copy`])
    t.equal(r.status, 0, `cp -a within one image${r.status ? `: ${r.stderr}` : ''}`)
    const i3 = Image.open(img)
    const a = i3.resolve('/links-copy/three-a')
    t.equal(i3.resolve('/links-copy/sub/three-c'), a, 'hard links are kept within the copied set')
    t.not(a, i3.resolve('/links/three-a'), 'the copy is a new inode')
    t.equal(i3.stat(a).nlink, 3, 'with nlink 3 (the originals keep their own)')
    t.same(i3.check().problems, [], 'checks clean after copying within the image')
    i3.close()
    r = cli(['cp', '-r', `${img}:/links`, `${img}:/links/sub`])
    t.equal(r.status, 1, 'copying a directory into itself fails')
    t.match(r.stderr, /cannot copy a directory, '.*:\/links', into itself/, 'and says so')
  })

  t.test('cp without -p, -n, -f, stdin, destination rules', async (t) => {
    const dir = tmpDir(t, 'cp-rules')
    const img = path.join(dir, 'r.img')
    t.equal(cli(['mkfs', img, '--size', '32M', '-q']).status, 0)
    const src = path.join(dir, 'src')
    fs.mkdirSync(path.join(src, 'sub'), {recursive: true})
    fs.writeFileSync(path.join(src, 'suid'), 'x')
    if (isRoot) fs.chownSync(path.join(src, 'suid'), 1234, 5678)
    fs.chmodSync(path.join(src, 'suid'), 0o4775) // after chown, which clears set-user-ID
    fs.writeFileSync(path.join(src, 'sub/file'), 'inner')
    fs.utimesSync(path.join(src, 'suid'), 1000, 1000)

    // without -p: set-id bits dropped, umask applied, our owner, a fresh time
    let r = cli(['cp', path.join(src, 'suid'), `${img}:/plain`], {env: {}})
    t.equal(r.status, 0, 'cp a file in')
    let i = Image.open(img)
    let st = i.stat(i.resolve('/plain'))
    i.close()
    t.equal(st.mode & 0o7777, 0o755, 'set-user-ID dropped and the umask (022) applied, as cp(1)')
    t.equal(st.uid, process.getuid?.() ?? 0, 'owned by the user running cp')
    t.ok(st.mtime.sec > 1000, 'mtime is the copy time')
    r = cli(['cp', '-p', path.join(src, 'suid'), `${img}:/kept`])
    i = Image.open(img)
    st = i.stat(i.resolve('/kept'))
    i.close()
    t.equal(st.mode & 0o7777, 0o4775, '-p keeps set-user-ID in the image')
    t.equal(st.mtime.sec, 1000, '-p keeps the time')
    if (isRoot) t.same([st.uid, st.gid], [1234, 5678], '-p keeps the owner')

    // a directory without -r
    r = cli(['cp', src, `${img}:/`])
    t.equal(r.status, 1, 'a directory without -r fails')
    t.match(r.stderr, /-r not specified; omitting directory/, 'as cp(1) says it')

    // existing destination: refused, -n skips, -f replaces
    fs.writeFileSync(path.join(dir, 'new'), 'new content')
    r = cli(['cp', path.join(dir, 'new'), `${img}:/plain`])
    t.equal(r.status, 1, 'an existing file is not overwritten without -f')
    t.match(r.stderr, /exists; not overwritten/, 'and the message says how')
    r = cli(['cp', '-n', path.join(dir, 'new'), `${img}:/plain`])
    t.equal(r.status, 0, '-n skips quietly')
    t.equal(cli(['cat', `${img}:/plain`]).stdout, 'x', 'the file is untouched')
    r = cli(['cp', '-f', path.join(dir, 'new'), `${img}:/plain`])
    t.equal(r.status, 0, '-f replaces')
    t.equal(cli(['cat', `${img}:/plain`]).stdout, 'new content', 'with the new content')

    // out to the host: the same rules
    const out = path.join(dir, 'out.txt')
    fs.writeFileSync(out, 'keep me')
    r = cli(['cp', `${img}:/plain`, out])
    t.equal(r.status, 1, 'an existing host file is not overwritten without -f')
    t.equal(fs.readFileSync(out, 'utf8'), 'keep me', 'and is untouched')
    r = cli(['cp', '-f', `${img}:/plain`, out])
    t.equal(r.status, 0, '-f replaces a host file')
    t.equal(fs.readFileSync(out, 'utf8'), 'new content')
    const before = fs.readdirSync(dir).filter((n) => n.startsWith('.razorfs-'))
    t.same(before, [], 'no temporary file is left behind')

    // a symlink given as SOURCE: followed without -r, copied as a link with -r (cp(1)'s rule)
    fs.symlinkSync('new', path.join(dir, 'link-to-new'))
    t.equal(cli(['cp', path.join(dir, 'link-to-new'), `${img}:/deref`]).status, 0)
    t.equal(cli(['cat', `${img}:/deref`]).stdout, 'new content', 'without -r the link is followed')
    t.equal(cli(['cp', '-r', path.join(dir, 'link-to-new'), `${img}:/asis`]).status, 0)
    i = Image.open(img)
    t.equal(i.readlink(i.resolve('/asis')).toString(), 'new', 'with -r the link is copied as a link')
    i.close()

    // several sources into a directory; a missing one is reported and the rest copied
    r = cli(['cp', '-r', path.join(src, 'sub'), path.join(dir, 'missing'), path.join(dir, 'new'), `${img}:/`])
    t.equal(r.status, 1, 'a missing source makes the exit status 1')
    t.match(r.stderr, /cannot stat '.*missing': No such file or directory/, 'named as cp(1) does')
    t.equal(cli(['cat', `${img}:/sub/file`]).stdout, 'inner', 'the other sources are copied')
    r = cli(['cp', path.join(dir, 'new'), path.join(dir, 'new'), `${img}:/plain`])
    t.equal(r.status, 1, 'several sources need a directory')
    t.match(r.stderr, /target '.*plain': Not a directory/)

    // DEST with a trailing '/' that does not exist: only a directory goes there
    r = cli(['cp', path.join(dir, 'new'), `${img}:/nodir/`])
    t.equal(r.status, 1, 'a file to a missing DIR/ fails')
    t.match(r.stderr, /cannot create regular file '.*nodir\/': Not a directory/, 'as cp(1) says it')

    // standard input, streamed, zero blocks become holes
    const big = Buffer.concat([crypto.randomBytes(3 * MiB), Buffer.alloc(2 * MiB), Buffer.from('tail')])
    const {spawnSync} = await import('node:child_process')
    const p = spawnSync(process.execPath, ['bin/run.js', 'cp', '-', `${img}:/stdin.bin`], {
      input: big,
      env: {...process.env, CI: 'true'},
    })
    t.equal(p.status, 0, `cp - reads standard input${p.status ? `: ${p.stderr}` : ''}`)
    i = Image.open(img)
    const ino = i.resolve('/stdin.bin')
    t.equal(sha(i.readFile(ino)), sha(big), 'same bytes')
    const mapped = i.extents(ino).reduce((n, x) => n + x.length, 0)
    t.ok(mapped <= 3 * MiB + 4096 + 128 * 1024, `the 2 MiB of zeros are a hole (${mapped} bytes mapped)`)
    i.close()

    // IMAGE without ':' as a destination is a host path: refused rather than overwriting the image
    r = cli(['cp', path.join(dir, 'new'), img])
    t.equal(r.status, 1, 'an image file named without ":" is not overwritten')
    t.match(r.stderr, /is a RAZORFS image: to copy into it, write/, 'and the message says to add ":"')
    t.ok(Image.open(img).close() === undefined, 'the image is intact')
  })
}

const why = cliUnavailable()
if (why) t.fail(`cannot run the CLI: ${why}`)
else main()
