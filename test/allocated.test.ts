// Allocated bytes (st_blocks) of packed files through the real binary: `ls`,
// `stat` and `dump -i` report alloc_blocks (extents and external xattr
// values) plus the packed tail rounded up to 512 (FORMAT.md §10), also for a
// file whose extents span many tree nodes and for one whose external xattr
// values alone take more blocks than its size.
import t from 'tap'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {cli, cliUnavailable, tmpDir} from './helpers/image.js'
import {jsonResult} from './helpers/envelope.js'

const KiB = 1024
const BS = 1024
const CS = 128 * KiB

const rnd = (seed: string, n: number): Buffer => {
  const out = Buffer.alloc(n)
  let h = crypto.createHash('sha256').update(seed).digest()
  for (let i = 0; i < n; i += 32) {
    h.copy(out, i, 0, Math.min(32, n - i))
    h = crypto.createHash('sha256').update(h).digest()
  }
  return out
}

interface ExtentJson {
  kind: string
  length: number
  blocks: number
}

const json = (args: string[]) => {
  const r = cli([...args, '--json'])
  if (r.status !== 0) throw new Error(`razorfs ${args.join(' ')}: ${r.stderr}`)
  return jsonResult(r.stdout)
}

t.test('allocated bytes of packed files', {skip: cliUnavailable()}, async (t) => {
  const dir = tmpDir(t, 'allocated')
  const root = path.join(dir, 'root')
  fs.mkdirSync(root)
  // 22 clusters of 1 KiB data blocks alternating with 1 KiB holes (64 extents
  // a cluster, ~1,400 in all: many leaves at 1 KiB blocks), then a random
  // tail of 117,416 bytes that mkfs packs
  const body = Buffer.alloc(22 * CS)
  for (let off = 0; off < body.length; off += 2 * KiB) rnd(`b${off}`, KiB).copy(body, off)
  fs.writeFileSync(path.join(root, 'many'), Buffer.concat([body, rnd('tail', 117_416)]))
  fs.writeFileSync(path.join(root, 'small'), rnd('small', 100))
  fs.writeFileSync(path.join(root, 'two'), rnd('two', CS + 3000))
  const img = path.join(dir, 'a.img')
  const mk = cli(['mkfs', img, '--root', root, '--block-size', String(BS), '--headroom', '1M', '-q'])
  t.equal(mk.status, 0, mk.stderr)
  // an external xattr value (3 blocks) on the 100-byte file: alloc_blocks alone exceeds its size
  for (const f of ['small', 'many']) {
    const x = cli(['xattr', 'set', `${img}:/${f}`, 'user.big', 'v'.repeat(3000)])
    t.equal(x.status, 0, x.stderr)
  }
  const listed = new Map<string, number>(
    (json(['ls', '-l', img]) as {name: string; allocated: number}[]).map((e) => [e.name, e.allocated]),
  )
  for (const [name, xattrBlocks] of [
    ['many', 3],
    ['small', 3],
    ['two', 0],
  ] as const) {
    const st = json(['stat', `${img}:/${name}`]) as {ino: number; size: number; allocated: number}
    const d = json(['dump', img, '-i', String(st.ino)]) as {inode: {allocated: number}; extents: ExtentJson[]}
    const packed = d.extents.filter((e) => e.kind === 'packed')
    t.equal(packed.length, 1, `${name} has a packed tail`)
    if (name === 'many') t.ok(d.extents.length > 1000, `${name}: ${d.extents.length} extents, over many leaves`)
    const own = d.extents.reduce((a, e) => a + e.blocks, 0) * BS + xattrBlocks * BS
    const want = own + packed.reduce((a, e) => a + Math.ceil(e.length / 512) * 512, 0)
    t.equal(st.allocated, want, `stat: ${name}`)
    t.equal(d.inode.allocated, want, `dump -i: ${name}`)
    t.equal(listed.get(name), want, `ls -l: ${name}`)
  }
  const fsck = cli(['fsck', '-f', img])
  t.equal(fsck.status, 0, fsck.stdout + fsck.stderr)
})
