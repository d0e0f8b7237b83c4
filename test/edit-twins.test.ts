/**
 * Every editing command against its coreutils twin: the same steps run with
 * coreutils in a host directory and with razorfs on an image that started
 * with the same tree. After each step: the same exit status (0, or failure:
 * coreutils 1, razorfs 1 — 2 for usage errors), the same messages on stderr
 * and stdout once the program names and the IMAGE: prefix are set aside,
 * and the same tree (types, modes, owners, sizes, contents, link targets,
 * hard link groups; times where a step sets them).
 */
import t, {type Test} from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import {spawnSync} from 'node:child_process'
import {Image} from '../src/core/index.js'
import {compare, describeHost, describeImage, formatDiffs} from './helpers/compare.js'
import {cli, cliUnavailable, tmpDir} from './helpers/image.js'

/** A temporary directory, on tmpfs when there is one: a hundred commands each commit with fsync, which is not what is tested here. */
function fastTmpDir(t: Test, label: string): string {
  if (process.env.RAZORFS_TEST_TMP || !fs.existsSync('/dev/shm')) return tmpDir(t, label)
  const d = fs.mkdtempSync(path.join('/dev/shm', `razorfs-${label}-`))
  t.teardown(() => fs.rmSync(d, {recursive: true, force: true}))
  return d
}

const isRoot = process.getuid?.() === 0

interface Step {
  /** Arguments; '^x' is the operand x (host: x relative to the directory, image: IMAGE:/x). */
  argv: string[]
  /** A usage error: coreutils exits 1, razorfs 2. */
  usage?: boolean
  /** Paths whose mtime (to the nanosecond) must agree after the step. */
  times?: string[]
  /** Paths whose atime must agree (touch -a). */
  atimes?: string[]
  root?: boolean
}

const ENV = {LC_ALL: 'C', TZ: 'UTC'}

function setupTree(h: string): void {
  fs.mkdirSync(path.join(h, 'd1'))
  fs.mkdirSync(path.join(h, 'd2/sub'), {recursive: true})
  fs.mkdirSync(path.join(h, 'd3'))
  fs.mkdirSync(path.join(h, 'd5/f5'), {recursive: true})
  fs.mkdirSync(path.join(h, 'd7/d6'), {recursive: true})
  fs.writeFileSync(path.join(h, 'd7/d6/keep'), 'k')
  fs.mkdirSync(path.join(h, 'd6'))
  fs.mkdirSync(path.join(h, 'tree/a/b'), {recursive: true})
  fs.writeFileSync(path.join(h, 'tree/a/b/deep'), 'deep\n')
  fs.writeFileSync(path.join(h, 'tree/top'), 'top\n')
  fs.symlinkSync('a', path.join(h, 'tree/link-to-a'))
  for (const f of ['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'g', 'a', 'b'])
    fs.writeFileSync(path.join(h, f), `${f} content\n`)
  fs.symlinkSync('d1', path.join(h, 'link-d1'))
  fs.symlinkSync('nowhere', path.join(h, 'dangling'))
  fs.symlinkSync('f1', path.join(h, 'link-f1'))
  for (const p of ['.', 'd1', 'd2', 'd2/sub', 'd3', 'd5', 'd5/f5', 'd6', 'd7', 'd7/d6', 'tree', 'tree/a', 'tree/a/b'])
    fs.chmodSync(path.join(h, p), 0o755)
  for (const f of ['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'g', 'a', 'b', 'd7/d6/keep', 'tree/top', 'tree/a/b/deep'])
    fs.chmodSync(path.join(h, f), 0o644)
}

const STEPS: Step[] = [
  // mkdir
  {argv: ['mkdir', '^n1']},
  {argv: ['mkdir', '^n1']},
  {argv: ['mkdir', '^nope/x']},
  {argv: ['mkdir', '^f1/x']},
  {argv: ['mkdir', '-p', '^p/q/r']},
  {argv: ['mkdir', '-p', '^p/q/r']},
  {argv: ['mkdir', '-p', '^f1/x']},
  {argv: ['mkdir', '-p', '^f1']},
  {argv: ['mkdir', '-m', '700', '^priv']},
  {argv: ['mkdir', '-m', 'u=rwx,g=rx,o=', '^priv2']},
  {argv: ['mkdir', '-v', '^v1', '^v2']},
  {argv: ['mkdir', '^bad/x', '^ok2']},
  // rm
  {argv: ['rm', '^d1']},
  {argv: ['rm', '^nope']},
  {argv: ['rm', '-f', '^nope']},
  {argv: ['rm', '-d', '^p']},
  {argv: ['rm', '-d', '^priv']},
  {argv: ['rm', '^f2/']},
  {argv: ['rm', '-r', '^p']},
  {argv: ['rm', '-rv', '^v1']},
  {argv: ['rm', '-r', '^tree/.']},
  {argv: ['rm', '^link-d1']},
  {argv: ['rm', '-r', '^tree/a', '^f3']},
  {argv: ['rm', '-v', '^f2']},
  // mv
  {argv: ['mv', '^f4', '^f4b']},
  {argv: ['mv', '^nope', '^x']},
  {argv: ['mv', '^d2', '^d2/sub']},
  {argv: ['mv', '^d2', '^f1']},
  {argv: ['mv', '^f5', '^d5']},
  {argv: ['mv', '-n', '^f6', '^f7']},
  {argv: ['mv', '^f6', '^f7']},
  {argv: ['mv', '-v', '^a', '^a2']},
  {argv: ['mv', '^d6', '^d7']},
  {argv: ['mv', '^b', '^f7', '^g']},
  {argv: ['mv', '^b', '^d3']},
  {argv: ['mv', '^d3', '^d3moved']},
  // ln
  {argv: ['ln', '-s', 'target', '^l1']},
  {argv: ['ln', '-s', 'target', '^l1']},
  {argv: ['ln', '-sf', 'other', '^l1']},
  {argv: ['ln', '^f1', '^h1']},
  {argv: ['ln', '^f1', '^h1']},
  {argv: ['ln', '^d1', '^h2']},
  {argv: ['ln', '^nope', '^h3']},
  {argv: ['ln', '-s', 'into-dir', '^d1']},
  {argv: ['ln', '-sv', 'x', '^lv']},
  {argv: ['ln', '-f', '^f7', '^h1']},
  // chmod
  {argv: ['chmod', '600', '^f1']},
  {argv: ['chmod', 'u+x,g-w', '^f7']},
  {argv: ['chmod', '-R', 'a=rX', '^d2']},
  {argv: ['chmod', '+x', '^g']},
  {argv: ['chmod', '=r', '^g']},
  {argv: ['chmod', '666', '^g']},
  {argv: ['chmod', '--', '-w', '^g']},
  {argv: ['chmod', '666', '^g']},
  {argv: ['chmod', '-w', '^g']},
  {argv: ['chmod', '4755', '^f7']},
  {argv: ['chmod', 'g+s', '^d1']},
  {argv: ['chmod', '755', '^d1']},
  {argv: ['chmod', '00755', '^d1']},
  {argv: ['chmod', 'o+t', '^d5']},
  {argv: ['chmod', 'abc', '^f1'], usage: true},
  {argv: ['chmod', '644', '^nope']},
  {argv: ['chmod', '644', '^dangling']},
  {argv: ['chmod', '-v', '640', '^f1']},
  {argv: ['chmod', '-c', '640', '^f1']},
  {argv: ['chmod', 'go=u-w', '^f7']},
  {argv: ['chmod', '755', '^link-f1']},
  // chown (root only)
  {argv: ['chown', '12345:23456', '^f1'], root: true},
  {argv: ['chown', ':50', '^f7'], root: true},
  {argv: ['chmod', '4755', '^g'], root: true},
  {argv: ['chown', '7', '^g'], root: true},
  {argv: ['chmod', '2755', '^g'], root: true},
  {argv: ['chown', '8', '^g'], root: true},
  {argv: ['chown', '-R', '5:6', '^d2'], root: true},
  {argv: ['chown', '-h', '9:9', '^link-f1'], root: true},
  {argv: ['chown', '11:11', '^link-f1'], root: true},
  {argv: ['chown', '1:2', '^nope'], root: true},
  {argv: ['chown', 'bogus-user', '^f1'], root: true, usage: true},
  {argv: ['chown', '-v', '12345:12345', '^f1'], root: true},
  {argv: ['chown', '-c', '12345:12345', '^f1'], root: true},
  // touch
  {argv: ['touch', '^newf']},
  {argv: ['touch', '-c', '^nofile']},
  {argv: ['touch', '^nodir/x']},
  {argv: ['touch', '-d', '@1234567890.123456789', '^f1'], times: ['f1']},
  {argv: ['touch', '-m', '-d', '2001-02-03 04:05:06.5 UTC', '^f7'], times: ['f7']},
  {argv: ['touch', '-a', '-d', '@5', '^f7'], times: ['f7'], atimes: ['f7']},
  {argv: ['touch', '-t', '202401021530.45', '^newf'], times: ['newf']},
  {argv: ['touch', '-d', '@-1.5', '^link-f1'], times: ['f1', 'link-f1']},
  {argv: ['touch', '-d', 'garbage date', '^f1'], usage: true},
  // truncate
  {argv: ['truncate', '-s', '10K', '^t1']},
  {argv: ['truncate', '-s', '+5', '^t1']},
  {argv: ['truncate', '-s', '-3', '^t1']},
  {argv: ['truncate', '-s', '<100', '^t1']},
  {argv: ['truncate', '-s', '%7', '^t1']},
  {argv: ['truncate', '-s', '1KB', '^t1']},
  {argv: ['truncate', '-s', '5M', '^f7']},
  {argv: ['truncate', '-c', '-s', '5', '^nofile']},
  {argv: ['truncate', '-s', '5', '^d1']},
  {argv: ['truncate', '-s', '5', '^nodir/x']},
  {argv: ['truncate', '-s', '1Q', '^t1'], usage: true},
]

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '')
}

function runSteps(t: Test, h: string, img: string): void {
  const failures: string[] = []
  for (const [i, step] of STEPS.entries()) {
    if (step.root && !isRoot) continue
    const [cmd, ...rest] = step.argv
    const hostArgs = rest.map((a) => (a.startsWith('^') ? a.slice(1) : a))
    const imgArgs = rest.map((a) => (a.startsWith('^') ? `${img}:/${a.slice(1)}` : a))
    const label = `${i}: ${cmd} ${hostArgs.join(' ')}`
    const host = spawnSync(cmd!, hostArgs, {cwd: h, env: {...process.env, ...ENV}, encoding: 'utf8'})
    const ours = cli([cmd!, ...imgArgs], {env: ENV})
    const wantStatus = host.status === 0 ? 0 : step.usage ? 2 : 1
    if (ours.status !== wantStatus)
      failures.push(
        `${label}: exit ${ours.status}, coreutils ${host.status} (expected ${wantStatus}); razorfs said: ${ours.stderr.trim()} / coreutils said: ${host.stderr.trim()}`,
      )
    const hostErr = lines(host.stderr)
      .filter((l) => !l.startsWith("Try '"))
      .map((l) => l.replace(new RegExp(`^${cmd}: `), ''))
    const ourErr = lines(ours.stderr).map((l) =>
      l
        .replace(/^razorfs: /, '')
        .replace(/; see 'razorfs [^']*--help'$/, '')
        .replaceAll(`${img}:/`, ''),
    )
    if (JSON.stringify(hostErr) !== JSON.stringify(ourErr))
      failures.push(
        `${label}: stderr differs:\n    coreutils: ${JSON.stringify(hostErr)}\n    razorfs:   ${JSON.stringify(ourErr)}`,
      )
    const hostOut = lines(host.stdout).map((l) => l.replace(new RegExp(`^${cmd}: `), ''))
    const ourOut = lines(ours.stdout).map((l) => l.replaceAll(`${img}:/`, ''))
    if (JSON.stringify(hostOut) !== JSON.stringify(ourOut))
      failures.push(
        `${label}: stdout differs:\n    coreutils: ${JSON.stringify(hostOut)}\n    razorfs:   ${JSON.stringify(ourOut)}`,
      )
    const im = Image.open(img)
    try {
      for (const p of step.times ?? []) {
        const hs = fs.lstatSync(path.join(h, p), {bigint: true})
        const is = im.stat(im.resolve(`/${p}`))
        const ins = BigInt(is.mtime.sec) * 1_000_000_000n + BigInt(is.mtime.nsec)
        if (hs.mtimeNs !== ins) failures.push(`${label}: ${p}: mtime ${ins}, coreutils ${hs.mtimeNs}`)
      }
      for (const p of step.atimes ?? []) {
        const hs = fs.lstatSync(path.join(h, p), {bigint: true})
        const is = im.stat(im.resolve(`/${p}`))
        const ins = BigInt(is.atime.sec) * 1_000_000_000n + BigInt(is.atime.nsec)
        if (hs.atimeNs !== ins) failures.push(`${label}: ${p}: atime ${ins}, coreutils ${hs.atimeNs}`)
      }
      // after the times: describing the host tree reads the files, which changes their atimes
      const diffs = compare(describeHost(h), describeImage(im), {rootAttrs: false, mtime: false})
      if (diffs.length) failures.push(`${label}: trees differ:\n${formatDiffs(diffs, 10)}`)
      if (i === STEPS.length - 1 || i % 20 === 0) {
        const c = im.check()
        if (c.problems.length) failures.push(`${label}: image check: ${c.problems.map((p) => p.message).join('; ')}`)
      }
    } finally {
      im.close()
    }
  }
  t.same(
    failures,
    [],
    `${STEPS.length} steps agree with coreutils${failures.length ? `:\n${failures.join('\n')}` : ''}`,
  )
}

function main(): void {
  t.test('editing commands against coreutils', async (t) => {
    const dir = fastTmpDir(t, 'twins')
    const h = path.join(dir, 'host')
    fs.mkdirSync(h)
    setupTree(h)
    const img = path.join(dir, 'e.img')
    const r = cli(['mkfs', img, '--root', h, '--size', '32M', '-q'])
    t.equal(r.status, 0, 'the image starts with the same tree')
    const start = Image.open(img)
    const diffs = compare(describeHost(h), describeImage(start), {rootAttrs: false, mtime: false})
    start.close()
    t.same(diffs, [], 'same tree before the first step')
    const old = process.umask(0o022)
    t.teardown(() => void process.umask(old))
    runSteps(t, h, img)
  })

  t.test('xattr set, get, list, rm', async (t) => {
    const dir = tmpDir(t, 'xattr-cmd')
    const img = path.join(dir, 'x.img')
    t.equal(cli(['mkfs', img, '--size', '16M', '-q']).status, 0)
    t.equal(cli(['touch', `${img}:/f`]).status, 0)
    t.equal(cli(['xattr', 'set', `${img}:/f`, 'user.comment', 'hello world']).status, 0, 'set text')
    t.equal(cli(['xattr', 'set', '--encoding', 'hex', `${img}:/f`, 'user.bin', '00ff10']).status, 0, 'set hex')
    t.equal(
      cli(['xattr', 'set', `${img}:/f`, 'user.big', 'x'.repeat(5000)]).status,
      0,
      'a value stored outside the tree',
    )
    t.equal(cli(['xattr', 'get', `${img}:/f`, 'user.comment']).stdout, 'hello world', 'get prints the raw value')
    t.same(cli(['xattr', 'get', `${img}:/f`, 'user.bin']).stdoutBuf, Buffer.from([0, 0xff, 0x10]), 'binary value, raw')
    t.equal(cli(['xattr', 'get', '--encoding', 'hex', `${img}:/f`, 'user.bin']).stdout, '00ff10\n', 'or as hex')
    t.same(
      cli(['xattr', 'list', `${img}:/f`])
        .stdout.split('\n')
        .filter(Boolean),
      ['user.big', 'user.bin', 'user.comment'],
      'list',
    )
    t.match(
      cli(['xattr', 'list', '-d', `${img}:/f`]).stdout,
      /user\.bin=0x00ff10\nuser\.comment="hello world"/,
      'list with values',
    )
    let r = cli(['xattr', 'get', `${img}:/f`, 'user.none'])
    t.equal(r.status, 1, 'a missing attribute fails')
    t.match(r.stderr, /user\.none: No such attribute/)
    r = cli(['xattr', 'set', `${img}:/f`, 'badname', 'v'])
    t.equal(r.status, 2, 'a name without a namespace is a usage error')
    t.equal(cli(['xattr', 'rm', `${img}:/f`, 'user.comment', 'user.big']).status, 0, 'rm')
    r = cli(['xattr', 'rm', `${img}:/f`, 'user.comment'])
    t.equal(r.status, 1, 'rm of a missing attribute fails')
    t.equal(cli(['xattr', 'rm', '-f', `${img}:/f`, 'user.comment']).status, 0, 'unless -f')
    const im = Image.open(img)
    t.same(im.listXattrs(im.resolve('/f')), ['user.bin'])
    t.same(im.check().problems, [], 'the image checks clean')
    im.close()
  })

  t.test("chown by name from the image's own passwd; rm -r of the root", async (t) => {
    const dir = tmpDir(t, 'chown-names')
    const img = path.join(dir, 'n.img')
    t.equal(cli(['mkfs', img, '--size', '16M', '-q']).status, 0)
    t.equal(cli(['mkdir', `${img}:/etc`]).status, 0)
    const {spawnSync: run} = await import('node:child_process')
    const passwd = 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:34:www:/var/www:/usr/sbin/nologin\n'
    t.equal(run(process.execPath, ['bin/run.js', 'cp', '-', `${img}:/etc/passwd`], {input: passwd}).status, 0)
    t.equal(
      run(process.execPath, ['bin/run.js', 'cp', '-', `${img}:/etc/group`], {input: 'root:x:0:\nstaff:x:50:\n'}).status,
      0,
    )
    t.equal(cli(['touch', `${img}:/f`, `${img}:/g`]).status, 0)
    t.equal(cli(['chown', 'www-data:', `${img}:/f`]).status, 0, 'OWNER: takes the login group from the image')
    t.equal(cli(['chown', ':staff', `${img}:/g`]).status, 0, 'a group name from the image')
    const r = cli(['chown', 'nobody-here', `${img}:/g`])
    t.equal(r.status, 2, 'an unknown name is a usage error')
    t.match(r.stderr, /invalid user: 'nobody-here'/)
    let im = Image.open(img)
    t.same([im.stat(im.resolve('/f')).uid, im.stat(im.resolve('/f')).gid], [33, 34], 'www-data: is 33:34')
    t.equal(im.stat(im.resolve('/g')).gid, 50, 'staff is 50')
    im.close()
    t.equal(cli(['rm', '-r', `${img}:/`]).status, 1, 'rm -r of the root is refused')
    t.equal(cli(['rm', '-r', '--no-preserve-root', `${img}:/`]).status, 0, 'unless --no-preserve-root')
    im = Image.open(img)
    t.same(im.readdir(1), [], 'everything in the root is gone, the root stays')
    t.same(im.check().problems, [], 'and the image checks clean')
    im.close()
  })

  t.test('editing a busy image is refused; a crashed one is recovered first', async (t) => {
    const dir = tmpDir(t, 'edit-lock')
    const img = path.join(dir, 'l.img')
    t.equal(cli(['mkfs', img, '--size', '16M', '-q']).status, 0)
    const holder = Image.open(img, {readOnly: false})
    const r = cli(['mkdir', `${img}:/x`])
    t.equal(r.status, 1, 'a second writer is refused')
    t.match(r.stderr, /in use|another writer|pid/, 'naming the holder')
    holder.mkdir(1, 'made-before-crash', {})
    holder.flush()
    holder.abandon()
    const r2 = cli(['mkdir', `${img}:/after`])
    t.equal(r2.status, 0, 'the next edit recovers the journal first')
    t.match(r2.stderr, /not closed cleanly: replayed/, 'and says so')
    const im = Image.open(img)
    t.ok(im.lookup(1, 'made-before-crash') && im.lookup(1, 'after'), 'both changes are there')
    im.close()
  })
}

const why = cliUnavailable()
if (why) t.fail(`cannot run the CLI: ${why}`)
else main()
