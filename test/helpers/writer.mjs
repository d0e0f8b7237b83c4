#!/usr/bin/env node
// Writers for the concurrency and crash tests on a mount (one process each).
//   writer.mjs file PATH SEED BYTES          write BYTES of seeded data in odd-sized chunks; print its sha256
//   writer.mjs stripe PATH K N STRIPE COUNT  pwrite stripes K, K+N, ... (COUNT in all) of STRIPE bytes filled with K+1
//   writer.mjs append PATH K COUNT           append COUNT 32-byte records "writer K record I" with O_APPEND
//   writer.mjs churn DIR K COUNT             create, rename and unlink files named K-* in DIR
//   writer.mjs synced DIR SEED               forever: write a file, fsync it, print "synced NAME SHA256"
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

const [mode, target, ...rest] = process.argv.slice(2)

function stream(seed) {
  const key = crypto.createHash('sha256').update(String(seed)).digest()
  return crypto.createCipheriv('aes-256-ctr', key, Buffer.alloc(16))
}

if (mode === 'file') {
  const [seed, bytes] = [rest[0], Number(rest[1])]
  const c = stream(seed)
  const h = crypto.createHash('sha256')
  const fd = fs.openSync(target, 'w')
  let done = 0
  let i = 0
  while (done < bytes) {
    const n = Math.min(bytes - done, [4096, 131072, 1000, 65536 + 17, 1 << 20][i++ % 5])
    const chunk = i % 3 === 0 ? Buffer.alloc(n, i & 0xff) : c.update(Buffer.alloc(n))
    fs.writeSync(fd, chunk)
    h.update(chunk)
    done += n
  }
  fs.closeSync(fd)
  process.stdout.write(h.digest('hex') + '\n')
} else if (mode === 'stripe') {
  const [k, n, stripe, count] = rest.map(Number)
  const fd = fs.openSync(target, 'r+')
  const buf = Buffer.alloc(stripe, k + 1)
  for (let s = k; s < count; s += n) fs.writeSync(fd, buf, 0, stripe, s * stripe)
  fs.closeSync(fd)
} else if (mode === 'append') {
  const [k, count] = rest.map(Number)
  const fd = fs.openSync(target, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o644)
  for (let i = 0; i < count; i++) fs.writeSync(fd, `writer ${k} record ${String(i).padStart(6, '0')}`.padEnd(31) + '\n')
  fs.closeSync(fd)
} else if (mode === 'churn') {
  const [k, count] = rest.map(Number)
  for (let i = 0; i < count; i++) {
    const p = path.join(target, `${k}-${i}`)
    fs.writeFileSync(p, `churn ${k} ${i}`)
    if (i % 3 === 0) fs.renameSync(p, path.join(target, `${k}-r${i}`))
    else if (i % 3 === 1) fs.unlinkSync(p)
  }
} else if (mode === 'synced') {
  const c = stream(rest[0])
  for (let i = 0; ; i++) {
    const name = `s${i}`
    const data = c.update(Buffer.alloc(1000 + ((i * 7919) % 300000)))
    const fd = fs.openSync(path.join(target, name), 'w')
    fs.writeSync(fd, data)
    if (i % 2 === 0) {
      fs.fsyncSync(fd)
      fs.closeSync(fd)
      process.stdout.write(`synced ${name} ${crypto.createHash('sha256').update(data).digest('hex')}\n`)
    } else fs.closeSync(fd)
  }
} else {
  process.stderr.write('usage: writer.mjs file|stripe|append|churn|synced ...\n')
  process.exit(2)
}
