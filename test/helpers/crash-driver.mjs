#!/usr/bin/env node
// The workload of the mount crash test (crash-mount.test.ts), run against a
// real mount: random file-system calls under MNT/w, with a model of what the
// tree holds. At each acknowledgement point — fsync(2) or fdatasync(2) of a
// file, fsync(2) of a directory, once the call has returned — it appends a
// mark to the device log (helpers/devlog.ts) saying what must survive a crash
// from then on; before changing a path it appends a mark dropping what was
// said about it. An acknowledgement kind is one entry of ACKS.
//
//   crash-driver.mjs MNT LOG SEED STEPS
//
// Prints one JSON line: {acks: {kind: count}, ops: {kind: count}, model: {path: expectation}}.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {execFileSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'

const [MNT, LOG, SEED, STEPS] = process.argv.slice(2)
const ROOT = '/w'
const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../bin/run.js')

// ---- randomness (seeded) and the log's mark record (src/core/io/device.ts: 24-byte header, kind 'M')
const stream = crypto.createCipheriv(
  'aes-256-ctr',
  crypto.createHash('sha256').update(`crash-driver:${SEED}`).digest(),
  Buffer.alloc(16),
)
const bytes = (n) => stream.update(Buffer.alloc(n))
const int = (lo, hi) => lo + Math.floor((bytes(4).readUInt32LE(0) / 2 ** 32) * (hi - lo + 1))
const chance = (p) => int(0, 999999) < p * 1000000
const pick = (a) => a[int(0, a.length - 1)]
const logFd = fs.openSync(LOG, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o644)
/** Names acknowledged to exist (and not touched since). */
const entryAcked = new Set()
function mark(m) {
  for (const k of m.forget ?? []) if (/^[ce]:/.test(k)) entryAcked.delete(k.slice(2))
  for (const [k, x] of Object.entries(m.set ?? {})) if (/^[ce]:/.test(k) && !x.absent) entryAcked.add(k.slice(2))
  const payload = Buffer.from(JSON.stringify(m))
  const h = Buffer.alloc(24)
  h.write('M', 0, 'latin1')
  h.writeUInt32LE(process.pid, 4)
  h.writeUInt32LE(payload.length, 12)
  fs.writeSync(logFd, Buffer.concat([h, payload]))
}

// ---- the model: image path -> node (shared by hard links)
/** @type {Map<string, {type: 'file'|'dir'|'symlink', data?: Buffer, mode: number, target?: string, acked?: string}>} */
const model = new Map()
const abs = (p) => path.join(MNT, p)
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex')
const parentOf = (p) => p.slice(0, p.lastIndexOf('/')) || '/'
const childrenOf = (d) => [...model.keys()].filter((p) => p !== d && parentOf(p) === d)
const namesOf = (node) => [...model].filter(([, n]) => n === node).map(([p]) => p)
/** Names each directory has had (a directory fsync acknowledges the ones gone as absent). */
const seen = new Map()
/** Renames in flight: key -> the two names. */
const renames = new Map()
let fresh = 0

/** Before changing `paths`: drop every expectation about them. */
function forget(...paths) {
  const keys = []
  for (const p of paths) keys.push(`c:${p}`, `e:${p}`)
  for (const [k, pair] of renames)
    if (pair.some((p) => paths.includes(p))) {
      keys.push(k)
      renames.delete(k)
    }
  mark({forget: keys})
}

function fileExpect(node, withMode) {
  return withMode ? {type: 'file', sha: sha(node.data), mode: node.mode} : {type: 'file', sha: sha(node.data)}
}

const counts = {acks: {}, ops: {}}
function acked(kind, set) {
  counts.acks[kind] = (counts.acks[kind] ?? 0) + 1
  mark({ack: kind, set})
}

/**
 * Acknowledgement kinds: each makes the call and returns what is durable once it has returned.
 * fsync and fdatasync of a file: its content (fsync: and mode), at the name it was opened by
 * (razorfs commits the whole image, so the name of a new file is durable too). fsync of a
 * directory: its entries (and the content of entries whose content was acknowledged before).
 */
const ACKS = {
  fsync: (p, fd) => {
    fs.fsyncSync(fd)
    const node = model.get(p)
    node.acked = sha(node.data)
    return {[`c:${p}`]: fileExpect(node, true)}
  },
  fdatasync: (p, fd) => {
    fs.fdatasyncSync(fd)
    const node = model.get(p)
    node.acked = sha(node.data)
    return {[`c:${p}`]: fileExpect(node, false)}
  },
  dirfsync: (dir) => {
    const fd = fs.openSync(abs(dir), 'r')
    fs.fsyncSync(fd)
    fs.closeSync(fd)
    const set = {}
    const now = childrenOf(dir)
    for (const c of now) {
      const n = model.get(c)
      set[`e:${c}`] = n.type === 'symlink' ? {type: 'symlink', target: n.target} : {type: n.type}
      if (n.type === 'file' && n.acked === sha(n.data)) set[`c:${c}`] = {type: 'file', sha: n.acked}
    }
    for (const c of seen.get(dir) ?? []) if (!model.has(c)) set[`e:${c}`] = {absent: true}
    return set
  },
  // `razorfs sync MOUNTPOINT` returns once everything written to the mount before it is committed
  sync: () => (execFileSync(process.execPath, [BIN, 'sync', MNT], {stdio: 'ignore'}), everything()),
}
const FILE_ACKS = ['fsync', 'fdatasync']
/** Acknowledgement kinds that cover the whole tree: every kind of ACKS but those of a file or a directory. */
const TREE_ACKS = Object.keys(ACKS).filter((k) => !['fsync', 'fdatasync', 'dirfsync'].includes(k))

/** Everything in the model, with the names gone as absent (for a whole-tree acknowledgement). */
function everything() {
  const set = {}
  for (const [p, n] of model) {
    if (n.type === 'file') n.acked = sha(n.data)
    set[`c:${p}`] =
      n.type === 'file'
        ? fileExpect(n, true)
        : n.type === 'symlink'
          ? {type: 'symlink', target: n.target}
          : {type: 'dir'}
  }
  for (const names of seen.values()) for (const c of names) if (!model.has(c)) set[`e:${c}`] = {absent: true}
  return set
}

/** After writing `p` through `fd`: acknowledge it (most of the time) by one of FILE_ACKS. */
function maybeAck(p, fd) {
  if (!chance(0.6)) return
  const kind = pick(FILE_ACKS)
  acked(kind, ACKS[kind](p, fd))
}

function dirAck(dir) {
  acked('dirfsync', ACKS.dirfsync(dir))
}

function newName(prefix) {
  const dirs = [...model].filter(([, n]) => n.type === 'dir').map(([p]) => p)
  const d = pick(dirs)
  const p = `${d}/${prefix}${fresh++}`
  if (!seen.has(d)) seen.set(d, new Set())
  seen.get(d).add(p)
  return p
}

const files = () => [...model].filter(([, n]) => n.type === 'file').map(([p]) => p)
const content = (n) => (chance(0.5) ? bytes(n) : Buffer.alloc(n, int(97, 122)))

const OPS = {
  create() {
    const p = newName('f')
    forget(p)
    const node = {type: 'file', data: Buffer.alloc(0), mode: 0o644}
    model.set(p, node)
    const fd = fs.openSync(abs(p), 'wx', 0o644)
    for (let i = int(1, 3); i > 0; i--) {
      const b = content(int(0, 24000))
      fs.writeSync(fd, b)
      node.data = Buffer.concat([node.data, b])
    }
    maybeAck(p, fd)
    fs.closeSync(fd)
  },
  overwrite() {
    const p = pick(files())
    const node = model.get(p)
    forget(...namesOf(node))
    const at = int(0, node.data.length + 4096)
    const b = content(int(1, 16000))
    const fd = fs.openSync(abs(p), 'r+')
    fs.writeSync(fd, b, 0, b.length, at)
    const grown = Buffer.alloc(Math.max(node.data.length, at + b.length))
    node.data.copy(grown)
    b.copy(grown, at)
    node.data = grown
    maybeAck(p, fd)
    fs.closeSync(fd)
  },
  append() {
    const p = pick(files())
    const node = model.get(p)
    forget(...namesOf(node))
    const b = content(int(1, 9000))
    const fd = fs.openSync(abs(p), 'a')
    fs.writeSync(fd, b)
    node.data = Buffer.concat([node.data, b])
    maybeAck(p, fd)
    fs.closeSync(fd)
  },
  truncate() {
    const p = pick(files())
    const node = model.get(p)
    forget(...namesOf(node))
    const size = int(0, node.data.length + 8000)
    const fd = fs.openSync(abs(p), 'r+')
    fs.ftruncateSync(fd, size)
    const next = Buffer.alloc(size)
    node.data.copy(next, 0, 0, Math.min(size, node.data.length))
    node.data = next
    maybeAck(p, fd)
    fs.closeSync(fd)
  },
  chmod() {
    const p = pick(files())
    const node = model.get(p)
    forget(...namesOf(node))
    node.mode = int(0o400, 0o777)
    fs.chmodSync(abs(p), node.mode)
    if (chance(0.6)) {
      const fd = fs.openSync(abs(p), 'r')
      acked('fsync', ACKS.fsync(p, fd))
      fs.closeSync(fd)
    }
  },
  rename() {
    const from = pick(files())
    const node = model.get(from)
    const to = newName('r')
    // a file whose name and content are durable: until both names are settled, exactly one of them exists
    const durable = node.acked === sha(node.data) && entryAcked.has(from)
    forget(from, to)
    if (durable) {
      const key = `r:${to}`
      renames.set(key, [from, to])
      mark({set: {[key]: {oneOf: [from, to], sha: node.acked}}})
    }
    fs.renameSync(abs(from), abs(to))
    model.delete(from)
    model.set(to, node)
    if (chance(0.5)) dirAck(parentOf(from))
    if (chance(0.5)) dirAck(parentOf(to))
  },
  link() {
    const p = pick(files())
    const to = newName('h')
    forget(to)
    fs.linkSync(abs(p), abs(to))
    model.set(to, model.get(p))
    if (chance(0.5)) dirAck(parentOf(to))
  },
  unlink() {
    const p = pick(files())
    forget(p)
    fs.unlinkSync(abs(p))
    model.delete(p)
    if (chance(0.5)) dirAck(parentOf(p))
  },
  symlink() {
    const p = newName('s')
    forget(p)
    const target = chance(0.5) ? pick(files()) : 'x'.repeat(int(1, 2000))
    fs.symlinkSync(target, abs(p))
    model.set(p, {type: 'symlink', mode: 0o777, target})
    if (chance(0.5)) dirAck(parentOf(p))
  },
  mkdir() {
    const p = newName('d')
    forget(p)
    fs.mkdirSync(abs(p), 0o755)
    model.set(p, {type: 'dir', mode: 0o755})
    if (chance(0.6)) dirAck(parentOf(p))
  },
  rmdir() {
    const empty = [...model]
      .filter(([p, n]) => n.type === 'dir' && p !== ROOT && childrenOf(p).length === 0)
      .map(([p]) => p)
    if (!empty.length) return OPS.mkdir()
    const p = pick(empty)
    forget(p)
    fs.rmdirSync(abs(p))
    model.delete(p)
    if (chance(0.5)) dirAck(parentOf(p))
  },
  dirfsync() {
    dirAck(pick([...model].filter(([, n]) => n.type === 'dir').map(([p]) => p)))
  },
  whole() {
    if (!TREE_ACKS.length) return OPS.dirfsync()
    const kind = pick(TREE_ACKS)
    acked(kind, ACKS[kind]())
  },
}
const WEIGHTS = [
  ['create', 20],
  ['overwrite', 12],
  ['append', 8],
  ['truncate', 6],
  ['chmod', 5],
  ['rename', 10],
  ['link', 5],
  ['unlink', 8],
  ['symlink', 5],
  ['mkdir', 6],
  ['rmdir', 3],
  ['dirfsync', 6],
  ['whole', 6],
]
const TOTAL = WEIGHTS.reduce((s, [, w]) => s + w, 0)

// ---- run
fs.mkdirSync(abs(ROOT))
model.set(ROOT, {type: 'dir', mode: 0o755})
seen.set('/', new Set([ROOT]))
dirAck('/')
for (let i = 0; i < Number(STEPS); i++) {
  let r = int(0, TOTAL - 1)
  let kind = WEIGHTS[0][0]
  for (const [k, w] of WEIGHTS) {
    if (r < w) {
      kind = k
      break
    }
    r -= w
  }
  if (files().length < 3 && kind !== 'mkdir') kind = 'create'
  counts.ops[kind] = (counts.ops[kind] ?? 0) + 1
  OPS[kind]()
}
const out = {}
for (const [p, n] of model)
  out[`c:${p}`] =
    n.type === 'file' ? fileExpect(n, true) : n.type === 'symlink' ? {type: 'symlink', target: n.target} : {type: 'dir'}
fs.closeSync(logFd)
process.stdout.write(JSON.stringify({...counts, model: out}) + '\n')
