#!/usr/bin/env node
// Run file-system calls given as JSON and print each result as JSON: the
// mount tests run this as an unprivileged user (setpriv) to see the exact
// errno of every permission check. argv[2]: [[op, ...args], ...]; prints
// [{ok: value} | {error: 'EACCES'}, ...].
import fs from 'node:fs'
import {spawnSync} from 'node:child_process'

const OPS = {
  readFile: (p) => fs.readFileSync(p, 'utf8'),
  writeFile: (p, data) => fs.writeFileSync(p, data),
  appendFile: (p, data) => fs.appendFileSync(p, data),
  create: (p, mode) => fs.closeSync(fs.openSync(p, 'wx', mode)),
  mkdir: (p, mode) => fs.mkdirSync(p, mode),
  rmdir: (p) => fs.rmdirSync(p),
  unlink: (p) => fs.unlinkSync(p),
  rename: (a, b) => fs.renameSync(a, b),
  link: (a, b) => fs.linkSync(a, b),
  symlink: (target, p) => fs.symlinkSync(target, p),
  chmod: (p, mode) => fs.chmodSync(p, mode),
  chown: (p, uid, gid) => fs.chownSync(p, uid, gid),
  utimes: (p, a, m) => fs.utimesSync(p, a, m),
  // utimensat(NULL) (set both to now), which Node cannot call: touch(1) does
  touchNow: (p) => {
    const r = spawnSync('touch', ['-c', p], {encoding: 'utf8'})
    if (r.status === 0) return
    const err = new Error(r.stderr)
    err.code = /Permission denied/.test(r.stderr)
      ? 'EACCES'
      : /not permitted/.test(r.stderr)
        ? 'EPERM'
        : r.stderr.trim()
    throw err
  },
  truncate: (p, n) => fs.truncateSync(p, n),
  openWrite: (p) => fs.closeSync(fs.openSync(p, 'r+')),
  stat: (p) => {
    const s = fs.lstatSync(p)
    return {uid: s.uid, gid: s.gid, mode: s.mode, nlink: s.nlink, size: s.size}
  },
  access: (p, mode) => fs.accessSync(p, mode),
  readdir: (p) => fs.readdirSync(p).sort(),
}

const out = []
for (const [op, ...args] of JSON.parse(process.argv[2])) {
  try {
    const v = OPS[op](...args)
    out.push({ok: v === undefined ? true : v})
  } catch (e) {
    out.push({error: e.code ?? String(e)})
  }
}
process.stdout.write(JSON.stringify(out) + '\n')
