/**
 * One rule for the owner, group and mode of new entries (src/core/fs/new-entry.ts):
 * the editing commands (mkdir, mkdir -p, touch, truncate, ln -s, cp image → image and host → image)
 * and the mount's operations (RazorFs, the layer the FUSE table calls) give the
 * same group and set-group-ID bit under a set-group-ID directory.
 */
import t from 'tap'
import nodeFs from 'node:fs'
import path from 'node:path'
import {Image, newEntryAttrs, S_IFDIR, S_IFREG} from '../src/core/index.js'
import {RazorFs} from '../src/fuse/ops.js'
import {cli, cliUnavailable, tmpDir} from './helpers/image.js'

const S_ISGID = 0o2000
const me = {uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0}
const GROUP = me.gid + 4242

t.test('the rule', async (t) => {
  const plain = {mode: S_IFDIR | 0o755, gid: GROUP}
  const sgid = {mode: S_IFDIR | S_ISGID | 0o775, gid: GROUP}
  t.same(newEntryAttrs(plain, {uid: 5, gid: 6}, S_IFDIR | 0o700), {uid: 5, gid: 6, mode: S_IFDIR | 0o700})
  t.same(newEntryAttrs(sgid, {uid: 5, gid: 6}, S_IFDIR | 0o700), {uid: 5, gid: GROUP, mode: S_IFDIR | S_ISGID | 0o700})
  t.same(newEntryAttrs(sgid, {uid: 5, gid: 6}, S_IFREG | 0o644), {uid: 5, gid: GROUP, mode: S_IFREG | 0o644})
})

/** An image with /sgid (set-group-ID, group GROUP), /plain, and sources /src-file and /src-dir/inner. */
function setup(image: string): void {
  const img = Image.create(image, {size: 64 << 20})
  const d = img.mkdir(1, 'sgid', {mode: 0o2775, uid: me.uid, gid: GROUP})
  img.setattr(d, {mode: S_IFDIR | 0o2775, gid: GROUP})
  img.mkdir(1, 'plain', {mode: 0o755, uid: me.uid, gid: GROUP})
  const f = img.create(1, 'src-file', {mode: S_IFREG | 0o644, uid: me.uid, gid: me.gid})
  img.write(f, 0, Buffer.from('data\n'))
  const sd = img.mkdir(1, 'src-dir', {mode: 0o755, uid: me.uid, gid: me.gid})
  img.create(sd, 'inner', {mode: S_IFREG | 0o644, uid: me.uid, gid: me.gid})
  img.close()
}

const why = cliUnavailable()
t.test('editing commands under a set-group-ID directory', {skip: why}, async (t) => {
  const tmp = tmpDir(t, 'new-entry')
  const image = path.join(tmp, 'n.img')
  setup(image)
  // host sources for cp host → image
  const host = path.join(tmp, 'host')
  nodeFs.mkdirSync(path.join(host, 'hd'), {recursive: true})
  nodeFs.writeFileSync(path.join(host, 'hf'), 'host file\n')
  nodeFs.writeFileSync(path.join(host, 'hd', 'inner'), 'inner\n')
  const run = (...argv: string[]) => {
    const r = cli(argv)
    t.equal(r.status, 0, `${argv.join(' ')}: ${r.stderr}`)
  }
  for (const dir of ['sgid', 'plain']) {
    run('mkdir', `${image}:/${dir}/d`)
    run('mkdir', '-p', `${image}:/${dir}/p/q`)
    run('mkdir', '-m', '700', `${image}:/${dir}/m`)
    run('touch', `${image}:/${dir}/t`)
    run('truncate', '-s', '10', `${image}:/${dir}/tr`)
    run('ln', '-s', 'target', `${image}:/${dir}/l`)
    run('cp', `${image}:/src-file`, `${image}:/${dir}/c`)
    run('cp', '-r', `${image}:/src-dir`, `${image}:/${dir}/cd`)
    run('cp', path.join(host, 'hf'), `${image}:/${dir}/hc`)
    run('cp', '-r', path.join(host, 'hd'), `${image}:/${dir}/hcd`)
  }
  const img = Image.open(image, {readOnly: true})
  t.teardown(() => img.close())
  const st = (p: string) => img.stat(img.resolve(p))
  const dirs = ['d', 'p', 'p/q', 'm', 'cd', 'hcd']
  const others = ['t', 'tr', 'l', 'c', 'cd/inner', 'hc', 'hcd/inner']
  for (const p of [...dirs, ...others]) {
    t.equal(st(`/sgid/${p}`).gid, GROUP, `/sgid/${p}: group of the set-group-ID directory`)
    t.equal(st(`/sgid/${p}`).uid, me.uid, `/sgid/${p}: owned by the user`)
    t.equal(st(`/plain/${p}`).gid, me.gid, `/plain/${p}: the user's group`)
  }
  for (const p of dirs) {
    t.ok(st(`/sgid/${p}`).mode & S_ISGID, `/sgid/${p}: new directory is set-group-ID`)
    t.notOk(st(`/plain/${p}`).mode & S_ISGID, `/plain/${p}: not set-group-ID`)
  }
  for (const p of others) t.notOk(st(`/sgid/${p}`).mode & S_ISGID, `/sgid/${p}: not a directory, no bit added`)
  t.equal(st('/sgid/m').mode & 0o7777, 0o2700, 'mkdir -m 700 keeps the inherited bit, as coreutils on Linux')

  // the mount's layer, on a copy of the same setup: the same group and mode
  const image2 = path.join(tmpDir(t, 'new-entry-mount'), 'm.img')
  setup(image2)
  const img2 = Image.open(image2, {readOnly: false})
  const fs = new RazorFs(img2)
  const ctx = {...me, pid: 1}
  const sgid = img2.resolve('/sgid')
  const d = fs.mkdir(ctx, sgid, Buffer.from('d'), 0o755)
  const f = fs.mknod(ctx, sgid, Buffer.from('t'), S_IFREG | 0o644, 0)
  const l = fs.symlink(ctx, sgid, Buffer.from('l'), Buffer.from('target'))
  fs.close()
  t.same([d.gid, d.mode & S_ISGID], [st('/sgid/d').gid, st('/sgid/d').mode & S_ISGID], 'mkdir: as the mount')
  t.same([f.uid, f.gid], [st('/sgid/t').uid, st('/sgid/t').gid], 'touch: as the mount')
  t.same([l.uid, l.gid], [st('/sgid/l').uid, st('/sgid/l').gid], 'ln -s: as the mount')
})
