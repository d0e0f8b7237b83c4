#!/usr/bin/env node
// Generates man/razorfs.5 from docs/FORMAT.md, the format's single source of
// truth, so the man page cannot drift from it. Handles the Markdown that
// FORMAT.md uses: headings, paragraphs, bullet lists, tables (through tbl),
// `code`, **bold** and *emphasis*. `--check` exits 1 when man/razorfs.5 is stale.
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const src = fs.readFileSync(path.join(root, 'docs/FORMAT.md'), 'utf8')
const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version

const esc = (s) => s.replace(/\\/g, '\\e').replace(/-/g, '\\-')
const inline = (s) =>
  esc(s)
    .replace(/`([^`]+)`/g, '\\fB$1\\fR')
    .replace(/\*\*([^*]+)\*\*/g, '\\fB$1\\fR')
    .replace(/\*([^*]+)\*/g, '\\fI$1\\fR')
const line = (s) => (/^[.']/.test(s) ? `\\&${s}` : s)

const out = [`'\\" t`, `.TH RAZORFS 5 "" "razorfs ${version}" "File Formats"`, '.SH NAME', 'razorfs \\- RAZORFS filesystem image format, version 1']
const lines = src.split('\n')
for (let i = 0; i < lines.length; i++) {
  const l = lines[i]
  if (/^# /.test(l)) continue
  if (/^## /.test(l)) out.push(`.SH "${l.slice(3).replace(/^\d+\.\s*/, '').toUpperCase()}"`)
  else if (/^### /.test(l)) out.push(`.SS "${l.slice(4)}"`)
  else if (/^\|/.test(l)) {
    const rows = []
    while (i < lines.length && /^\|/.test(lines[i])) rows.push(lines[i++])
    i--
    const cells = rows.filter((r) => !/^\|[\s|:-]+\|$/.test(r)).map((r) => r.slice(1, -1).split('|').map((c) => inline(c.trim())))
    // long cells become tbl text blocks so they wrap; the last column takes the spare width
    const fmt = cells[0].map((_, k) => (k === cells[0].length - 1 ? 'lx' : 'l')).join(' ')
    const cell = (c) => (c.length > 24 ? `T{\n${line(c)}\nT}` : c)
    out.push('.TS', 'allbox tab(\t);', `${fmt}.`)
    cells.forEach((c) => out.push(line(c.map(cell).join('\t'))))
    out.push('.TE')
  } else if (/^- /.test(l)) {
    let item = l.slice(2)
    while (i + 1 < lines.length && /^  \S/.test(lines[i + 1])) item += ' ' + lines[++i].trim()
    out.push('.IP \\(bu 2', line(inline(item)))
  } else if (l.trim() === '') out.push('.PP')
  else out.push(line(inline(l)))
}
out.push('.SH "SEE ALSO"', 'razorfs(1), razorfs\\-mkfs(1), razorfs\\-dump(1)', '')
const text = out.join('\n').replace(/(\.PP\n)+/g, '.PP\n').replace(/\.PP\n(\.S[HS])/g, '$1')
const target = path.join(root, 'man/razorfs.5')
if (process.argv.includes('--check')) {
  const cur = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : ''
  if (cur !== text) {
    console.error('man/razorfs.5 is out of date with docs/FORMAT.md: run node scripts/format-man.js')
    process.exit(1)
  }
} else fs.writeFileSync(target, text)
