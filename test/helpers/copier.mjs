// A small program driving the core API the way `razorfs cp` will: copies a
// host tree into an image, committing after each file and printing
// "done <path> <sha256>" once the file is durable. The SIGKILL test kills it
// at random moments. Usage: node copier.mjs IMAGE TREE
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {Image} from '../../dist/core/index.js'

const [image, tree] = process.argv.slice(2)
const img = Image.open(image, {readOnly: false})
const copy = (dir, ino) => {
  for (const name of fs.readdirSync(dir).sort()) {
    const src = path.join(dir, name)
    const st = fs.lstatSync(src)
    if (st.isDirectory()) {
      const existing = img.lookup(ino, name)
      copy(src, existing ?? img.mkdir(ino, name, {mode: 0o755}))
      continue
    }
    if (img.lookup(ino, name) !== undefined) continue
    const data = fs.readFileSync(src)
    const f = img.create(ino, name, {mode: 0o644})
    for (let off = 0; off < data.length; off += 256 * 1024) img.write(f, off, data.subarray(off, off + 256 * 1024))
    img.flush()
    process.stdout.write(`done ${path.relative(tree, src)} ${crypto.createHash('sha256').update(data).digest('hex')}\n`)
  }
}
copy(tree, 1)
img.close()
process.stdout.write('finished\n')
