/**
 * Host tree → `razorfs mkfs IMG --root DIR` → `ls -lRa --json`, `cat`,
 * `stat --json`, `dump --inode --json`: the same tree, through the built
 * binary (./bin/run.js, which loads dist/). Needs `npm run build` first; the
 * test command does it.
 */
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import {bigTree, bigdirTree, mixedTree, BIGDIR_ENTRIES} from './helpers/tree.js'
import {compare, describeHost, formatDiffs, showBytes, type Description, type Entry} from './helpers/compare.js'
import {cli, cliHash, cliUnavailable, tmpDir, MiB} from './helpers/image.js'
import {jsonResult} from './helpers/envelope.js'

/** Linux makedev. */
const makedev = (major: number, minor: number) =>
  (((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0) + (major & ~0xfff) * 2 ** 32

interface LsJson {
  name: string
  nameBase64?: string
  path: string
  pathBase64?: string
  ino: number
  type: Entry['type']
  mode: number
  nlink: number
  uid: number
  gid: number
  size: number
  major?: number
  minor?: number
  mtime: {sec: number; nsec: number}
  target?: string
  targetBase64?: string
}

const bytesOf = (s: string, b64?: string) => (b64 !== undefined ? Buffer.from(b64, 'base64') : Buffer.from(s, 'utf8'))
const ns = (t: {sec: number; nsec: number}) => BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec)

/** A Description from `ls -lRa --json` plus `stat --json` of the root. */
function describeLs(list: LsJson[], rootStat: LsJson): Description {
  const entries = new Map<string, Entry>()
  const add = (j: LsJson, raw: Buffer) => {
    const display = '/' + showBytes(raw)
    entries.set(display, {
      path: display,
      raw,
      type: j.type,
      mode: j.mode,
      uid: j.uid,
      gid: j.gid,
      nlink: j.nlink,
      size: j.type === 'dir' ? 0 : j.size,
      rdev: j.major !== undefined ? makedev(j.major, j.minor ?? 0) : 0,
      mtimeNs: ns(j.mtime),
      inode: String(j.ino),
      target: j.type === 'symlink' ? bytesOf(j.target ?? '', j.targetBase64) : undefined,
    })
  }
  add(rootStat, Buffer.alloc(0))
  for (const j of list) {
    const name = bytesOf(j.name, j.nameBase64)
    if (name.equals(Buffer.from('.')) || name.equals(Buffer.from('..'))) continue
    add(j, bytesOf(j.path, j.pathBase64).subarray(1))
  }
  return {source: 'image', root: 'ls --json', entries, problems: []}
}

function main(): void {
  t.test('mixed tree through the binary', async (t) => {
    const root = await mixedTree()
    const dir = tmpDir(t, 'rt-bin')
    const img = path.join(dir, 'mixed.img')
    const host = describeHost(root)

    const mk = cli(['mkfs', img, '--root', root, '--json'])
    t.equal(mk.status, 0, `mkfs exits 0${mk.status ? `: ${mk.stderr}` : ''}`)
    let summary: {files?: number; warnings?: unknown[]} = {}
    try {
      summary = jsonResult(mk.stdout)
    } catch {
      t.fail(`mkfs --json prints JSON: ${mk.stdout.slice(0, 300)}`)
    }
    t.same(summary.warnings ?? [], [], 'mkfs reports no warnings')
    const hostFiles = [...host.entries.values()].filter((e) => e.type === 'file')
    t.equal(summary.files, new Set(hostFiles.map((e) => e.inode)).size, 'mkfs counts the regular files (inodes)')

    const ls = cli(['ls', img, '-l', '-R', '-a', '--json'], {timeoutMs: 120_000})
    t.equal(ls.status, 0, `ls -lRa --json exits 0${ls.status ? `: ${ls.stderr}` : ''}`)
    const st = cli(['stat', img, '--json'])
    t.equal(st.status, 0, 'stat of the root exits 0')
    let list: LsJson[] | undefined
    try {
      list = jsonResult(ls.stdout)
    } catch {
      t.fail(`ls -lRa --json prints one JSON document; got: ${JSON.stringify(ls.stdout.slice(0, 200))}`)
    }
    if (list) {
      const diffs = compare(host, describeLs(list, jsonResult(st.stdout)))
      t.same(
        diffs,
        [],
        `ls -lRa --json describes the host tree${diffs.length ? ` (${diffs.length} differences):\n${formatDiffs(diffs)}` : ''}`,
      )
      // the comparison of ls output is not vacuous: a changed mode and mtime are seen
      const altered = list.map((e) =>
        e.path === '/modes/f-0600'
          ? {...e, mode: e.mode ^ 0o040, mtime: {...e.mtime, nsec: (e.mtime.nsec + 1) % 1e9}}
          : e,
      )
      t.match(
        compare(host, describeLs(altered, jsonResult(st.stdout))),
        [/^\/modes\/f-0600: mode differs/, /^\/modes\/f-0600: mtime differs/],
        'a changed ls entry is noticed',
      )
    }

    // cat: content of a selection of files, compared by hash
    // (non-UTF-8 paths cannot be passed: Node decodes argv as UTF-8)
    const pick = [
      ...[...host.entries.values()].filter((e) => e.type === 'file' && /^\/sparse\//.test(e.path)),
      ...[
        '/links/three-a',
        '/xattrs/big-value',
        '/modes/f-0000',
        '/times/pre-1970',
        '/owners/u4000000000',
        '/types/regular',
        '/names/colon:name',
        '/names/:',
        '/names/back\\\\slash',
        '/names/-dash-first',
        '/names/emoji-🎉🦀',
        '/names/' + 'a'.repeat(255),
        '/names/ leading-space',
        '/names/new\\x0aline',
        '/README',
      ].map((p) => {
        const e = host.entries.get(p)
        if (!e) throw new Error(`test bug: no host entry ${p}`)
        return e
      }),
      ...hostFiles.filter((e) => e.path.startsWith('/files/')).filter((_, i) => i % 500 === 0),
    ]
    t.ok(pick.length > 25, `${pick.length} files to cat`)
    const bad: string[] = []
    for (const e of pick) {
      const r = await cliHash(['cat', `${img}:/${e.raw.toString('utf8')}`])
      if (r.status !== 0) bad.push(`${e.path}: exit ${r.status}: ${r.stderr.trim()}`)
      else if (r.sha256 !== e.sha256) bad.push(`${e.path}: content differs (${r.bytes} bytes read, ${e.size} expected)`)
    }
    t.same(bad, [], 'cat gives each file its host content')

    // cat through a symlink follows it
    const viaLink = await cliHash(['cat', `${img}:/links/symlink-b`])
    t.equal(viaLink.sha256, host.entries.get('/links/three-a')!.sha256, 'cat follows a (hardlinked) symlink')

    // stat --json on selected paths
    for (const p of [
      '/types/chardev-max',
      '/types/blockdev',
      '/times/pre-1970',
      '/times/y2100',
      '/owners/u4000000000',
      '/modes/f-7777',
      '/links/three-a',
      '/types/symlink-4095',
      '/types/fifo',
      '/types/socket',
      '/sparse/hole-middle',
      '/modes/d-1777',
    ]) {
      const h = host.entries.get(p)
      if (!h) continue
      const r = cli(['stat', `${img}:${p}`, '--json'])
      if (r.status !== 0) {
        t.fail(`stat ${p}: exit ${r.status}: ${r.stderr}`)
        continue
      }
      const s = jsonResult(r.stdout)
      const got = {
        type: s.type,
        mode: s.mode,
        uid: s.uid,
        gid: s.gid,
        nlink: s.nlink,
        size: h.type === 'dir' ? 0 : s.size,
        rdev: h.rdev ? s.rdev : 0,
        mtime: String(ns(s.mtime)),
      }
      const want = {
        type: h.type,
        mode: h.mode,
        uid: h.uid,
        gid: h.gid,
        nlink: h.nlink,
        size: h.size,
        rdev: h.rdev,
        mtime: String(h.mtimeNs),
      }
      t.same(got, want, `stat --json ${p}`)
      if (h.type === 'symlink') t.same(bytesOf(s.target ?? '', s.targetBase64), h.target, `stat --json ${p}: target`)
    }

    // dump --inode: extents and xattrs of one file
    const inoOf = (p: string) => jsonResult(cli(['stat', `${img}:${p}`, '--json']).stdout).ino as number
    const dump = cli(['dump', img, '--inode', String(inoOf('/xattrs/big-value')), '--json'])
    t.equal(dump.status, 0, 'dump --inode exits 0')
    t.match(dump.stdout, /user\.big/, 'dump --inode shows the xattrs')
    const d2 = cli(['dump', img, '--json'])
    t.equal(d2.status, 0, 'dump exits 0')
    t.match(jsonResult(d2.stdout), {blockSize: 4096}, 'dump --json has the block size')
  })

  t.test('bigdir through the binary', async (t) => {
    const root = await bigdirTree()
    const dir = tmpDir(t, 'rt-bin')
    const img = path.join(dir, 'bigdir.img')
    const mk = cli(['mkfs', img, '--root', root, '--quiet'], {timeoutMs: 400_000})
    t.equal(mk.status, 0, `mkfs exits 0${mk.status ? `: ${mk.stderr}` : ''}`)
    const ls = cli(['ls', `${img}:/big`, '--json'], {timeoutMs: 300_000})
    t.equal(ls.status, 0, 'ls --json of a 100,000-entry directory')
    const names = (jsonResult(ls.stdout) as LsJson[]).map((e) => e.name)
    t.equal(names.length, BIGDIR_ENTRIES, 'all entries listed')
    const hostNames = fs
      .readdirSync(path.join(root, 'big'))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    t.same(names, hostNames, 'same names, sorted by bytes')
    const plain = cli(['ls', `${img}:/big`], {timeoutMs: 300_000})
    t.equal(plain.stdout.split('\n').filter(Boolean).length, BIGDIR_ENTRIES, 'plain ls prints one line per entry')
  })

  t.test('big tree through the binary', async (t) => {
    const root = await bigTree()
    const dir = tmpDir(t, 'rt-bin')
    const img = path.join(dir, 'big.img')
    const host = describeHost(root)
    const mk = cli(['mkfs', img, '--root', root, '--json'], {timeoutMs: 400_000})
    t.equal(mk.status, 0, `mkfs exits 0${mk.status ? `: ${mk.stderr}` : ''}`)
    const alloc = fs.statSync(img).blocks * 512
    t.ok(
      alloc < 264 * MiB,
      `--size auto image holds the 1 GiB sparse file without its holes (${(alloc / MiB).toFixed(1)} MiB allocated, ${(fs.statSync(img).size / MiB).toFixed(1)} MiB apparent)`,
    )
    for (const p of ['/sparse-1g', '/dense-200m']) {
      const r = await cliHash(['cat', `${img}:${p}`])
      t.equal(r.status, 0, `cat ${p} exits 0`)
      t.equal(r.bytes, host.entries.get(p)!.size, `cat ${p}: size`)
      t.equal(r.sha256, host.entries.get(p)!.sha256, `cat ${p}: content`)
    }
  })
}

const why = cliUnavailable()
if (why) t.fail(`cannot run the CLI: ${why}`)
else main()
