// Crash: SIGKILL the process serving a mount in the middle of a write
// workload (and while an unlinked file is held open), remount, and check:
// the image recovers from its journal, frees the orphan, checks clean, and
// every file the writer had fsynced is intact.
import t from 'tap'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {spawn} from 'node:child_process'
import {Image} from '../src/core/index.js'
import {Rng} from './helpers/rng.js'
import {cli, PROJECT, tmpDir} from './helpers/image.js'
import {forceUnmount, mount, mountUnavailable, umount, waitFor} from './helpers/mount.js'

const skip = mountUnavailable()
if (skip) t.plan(0, skip)

const WRITER = path.join(PROJECT, 'test/helpers/writer.mjs')
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

t.test('SIGKILL the mount during writes: remount recovers, fsynced files intact', async (t) => {
  const dir = tmpDir(t, 'crash')
  const image = path.join(dir, 'k.img')
  t.equal(cli(['mkfs', image, '--size', '512M', '-q']).status, 0)
  const m = path.join(dir, 'mnt')
  const rng = new Rng('mount-crash')
  const synced = new Map<string, string>()
  const problems: string[] = []
  const ROUNDS = 3
  const t0 = Date.now()
  const mark = (what: string) => t.comment(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`)
  for (let round = 0; round < ROUNDS; round++) {
    mark('mount')
    const {pid} = mount(t, image, m)
    if (!pid) break
    const sub = path.join(m, `round${round}`)
    fs.mkdirSync(sub)
    const dfd = fs.openSync(sub, 'r')
    fs.fsyncSync(dfd)
    fs.closeSync(dfd)
    // an unlinked file held open, committed as an orphan
    const held = fs.openSync(path.join(sub, 'held'), 'w+')
    fs.writeSync(held, Buffer.alloc(500000, 9))
    fs.unlinkSync(path.join(sub, 'held'))
    fs.fsyncSync(held)
    const child = spawn(process.execPath, [WRITER, 'synced', sub, `round${round}`], {stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    const exited = new Promise((r) => child.on('close', r))
    // kill once the writer has fsynced a file (a fixed delay killed it before the first one on a
    // loaded machine), then at a random point of what follows
    for (const start = Date.now(); !/^synced /m.test(out) && Date.now() - start < 120000;) await sleep(50)
    await sleep(rng.int(200, 1500))
    mark('kill')
    process.kill(pid, 'SIGKILL')
    await exited
    mark('writer exited')
    waitFor(() => {
      try {
        return /^\S+ \S+ Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/\(.*\)/, 'x'))
      } catch {
        return true
      }
    })
    mark('mount process gone')
    try {
      fs.closeSync(held)
    } catch {
      // the connection is gone
    }
    forceUnmount(m)
    const lines = out.split('\n').filter((l) => l.startsWith('synced '))
    for (const l of lines) {
      const [, name, sha] = l.split(' ')
      synced.set(`round${round}/${name}`, sha!)
    }
    t.ok(lines.length > 0, `round ${round}: killed the mount (pid ${pid}) after ${lines.length} fsynced files`)
    // remount: the journal is replayed and the orphan freed
    mark('remount')
    const again = cli(['mount', image, m])
    if (again.status !== 0) {
      problems.push(`round ${round}: remount failed: ${again.stderr}`)
      break
    }
    t.match(
      again.stderr,
      /was not closed cleanly: replayed \d+ committed transactions? .*freed 1 inode deleted while open/,
      `round ${round}: the remount recovered (${again.stderr.trim().split('warning: ')[1]?.slice(0, 90)}...)`,
    )
    for (const [rel, sha] of synced) {
      let got = 'missing'
      try {
        got = crypto
          .createHash('sha256')
          .update(fs.readFileSync(path.join(m, rel)))
          .digest('hex')
      } catch (e) {
        got = (e as NodeJS.ErrnoException).code ?? 'error'
      }
      if (got !== sha) problems.push(`round ${round}: ${rel}: ${got}`)
    }
    mark('verified')
    const u = umount(m)
    mark('unmounted')
    if (u.status !== 0) problems.push(`round ${round}: umount: ${u.stderr}`)
    waitFor(() => !fs.existsSync(`${image}.lock`))
    const img = Image.open(image)
    const c = img.check({checkData: true})
    if (c.problems.length) problems.push(`round ${round}: ${c.problems.map((p) => p.message).join('; ')}`)
    img.close()
    mark('checked')
  }
  t.ok(synced.size > 10, `${synced.size} fsynced files across ${ROUNDS} kills`)
  t.same(problems, [], 'every recovered image checks clean and keeps every fsynced file')
})
