/**
 * The recursive edits of the commands, called as a library (src/core/edit/):
 * removeTree (rm -r), chmodTree (chmod -R), chownTree (chown -R), makeDirs (mkdir -p).
 */
import t from 'tap'
import path from 'node:path'
import {chmodTree, chownTree, Image, makeDirs, parseMode, removeTree} from '../src/core/index.js'
import {tmpDir, type TapLike} from './helpers/image.js'

const A = {uid: 0, gid: 0}

/** /a (0755) with /a/f (0644), /a/b (0755), /a/b/g (0600), /a/link → f. */
function setup(t: TapLike): Image {
  const img = Image.create(path.join(tmpDir(t), 'x.img'), {size: 64 << 20})
  const a = img.mkdir(1, 'a', {...A, mode: 0o755})
  img.create(a, 'f', {...A, mode: 0o644})
  const b = img.mkdir(a, 'b', {...A, mode: 0o755})
  img.create(b, 'g', {...A, mode: 0o600})
  img.symlink(a, 'link', 'f', {...A, mode: 0o777})
  t.teardown(() => img.close())
  return img
}

t.test('makeDirs creates the missing components, with the creator and modes given', async (t) => {
  const img = setup(t)
  const seen: string[] = []
  const r = makeDirs(img, '/a/b/c/d', {
    mode: 0o700,
    parentMode: 0o755,
    creator: {uid: 7, gid: 8},
    onCreated: (e) => seen.push(e.path),
  })
  t.same(seen, ['/a/b/c', '/a/b/c/d'])
  t.equal(r.created, 2)
  t.equal(r.failure, undefined)
  const st = img.stat(r.ino!)
  t.equal(st.type, 'dir')
  t.equal(st.mode & 0o7777, 0o700)
  t.equal(st.uid, 7)
  t.equal(img.stat(img.resolve('/a/b/c')).mode & 0o7777, 0o755)
  t.same(makeDirs(img, '/a/f/x'), {created: 0, failure: {path: '/a/f', code: 'ENOTDIR'}})
  t.same(makeDirs(img, '/a/f'), {created: 0, failure: {path: '/a/f', code: 'EEXIST'}})
  t.equal(makeDirs(img, 'a/b').ino, img.resolve('/a/b'), 'an existing directory is no error')
})

t.test('chmodTree visits in byte order, skips links inside, reports each change', async (t) => {
  const img = setup(t)
  const changes = parseMode('go-rwx')!
  const seen: string[] = []
  const r = chmodTree(img, img.resolve('/a'), changes, {
    recursive: true,
    path: 'x.img:/a/',
    onEntry: (e) => seen.push(`${e.path} ${e.oldMode.toString(8)}→${e.mode.toString(8)}`),
  })
  t.same(seen, ['x.img:/a/ 755→700', 'x.img:/a/b 755→700', 'x.img:/a/f 644→600', 'x.img:/a/b/g 600→600'])
  t.same(r, {visited: 4, changed: 3})
  t.equal(parseMode('u+q'), undefined)
  const one = chmodTree(img, img.resolve('/a'), parseMode('755')!)
  t.same(one, {visited: 1, changed: 1}, 'not recursive: the inode alone')
})

t.test('chownTree changes links themselves and clears set-user-ID of files', async (t) => {
  const img = setup(t)
  img.setattr(img.resolve('/a/f'), {mode: 0o4755})
  const seen: string[] = []
  const r = chownTree(
    img,
    img.resolve('/a'),
    {uid: 5},
    {recursive: true, path: '/a', onEntry: (e) => seen.push(e.path)},
  )
  t.same(seen, ['/a', '/a/b', '/a/f', '/a/link', '/a/b/g'])
  t.same(r, {visited: 5, changed: 5})
  t.equal(img.stat(img.resolve('/a/link')).uid, 5)
  t.equal(img.stat(img.resolve('/a/f')).mode & 0o7777, 0o755)
  t.equal(img.stat(img.resolve('/a/f')).gid, 0)
})

t.test('removeTree removes deepest first and refuses the root and dot entries', async (t) => {
  const img = setup(t)
  const seen: string[] = []
  const r = removeTree(img, 1, 'a', {onRemoved: (e) => seen.push(`${e.type} ${e.path}`)})
  t.equal(seen.at(-1), 'dir a')
  t.ok(seen.indexOf('file a/b/g') < seen.indexOf('dir a/b'))
  t.same(r, {files: 3, dirs: 2})
  t.equal(img.lookup(1, 'a'), undefined)
  t.same(removeTree(img, 1, 'missing'), {files: 0, dirs: 0})
  t.throws(() => removeTree(img, 1, '..'), {code: 'EINVAL'})
  t.throws(() => removeTree(img, 1, undefined), {code: 'EINVAL'})
  img.mkdir(1, 'z', {...A, mode: 0o755})
  t.same(removeTree(img, 1, undefined, {preserveRoot: false, path: '/'}), {files: 0, dirs: 1})
  t.same(
    img.readdir(1).map((e) => e.name.toString()),
    [],
    'everything in the root is gone, the root stays',
  )
})
