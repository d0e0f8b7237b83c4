#!/usr/bin/env node
// Generates man/razorfs.5 from docs/FORMAT.md, the format's single source of
// truth, and man/razorfs-manifest.5 from docs/MANIFEST.md, so the man pages
// cannot drift from them. Handles the Markdown they use: headings,
// paragraphs, bullet lists, tables (through tbl), fenced code blocks,
// `code`, **bold** and *emphasis*. `--check` exits 1 when a page is stale.
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version

const esc = (s) => s.replace(/\\/g, '\\e').replace(/-/g, '\\-')
const inline = (s) =>
  esc(s)
    .replace(/`([^`]+)`/g, '\\fB$1\\fR')
    .replace(/\*\*([^*]+)\*\*/g, '\\fB$1\\fR')
    .replace(/\*([^*]+)\*/g, '\\fI$1\\fR')
const line = (s) => (/^[.']/.test(s) ? `\\&${s}` : s)

function convert(srcFile, th, name, seeAlso) {
  const src = fs.readFileSync(path.join(root, srcFile), 'utf8')
  const out = [`'\\" t`, `.TH ${th} 5 "" "razorfs ${version}" "File Formats"`, '.SH NAME', name]
  const lines = src.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]
    if (/^# /.test(l)) continue
    if (/^```/.test(l)) {
      out.push('.PP', '.RS 4', '.nf')
      while (++i < lines.length && !/^```/.test(lines[i])) out.push(line(esc(lines[i])))
      out.push('.fi', '.RE')
      continue
    }
    if (/^## /.test(l))
      out.push(
        `.SH "${l
          .slice(3)
          .replace(/^\d+\.\s*/, '')
          .toUpperCase()}"`,
      )
    else if (/^### /.test(l)) out.push(`.SS "${l.slice(4)}"`)
    else if (/^\|/.test(l)) {
      const rows = []
      while (i < lines.length && /^\|/.test(lines[i])) rows.push(lines[i++])
      i--
      const cells = rows
        .filter((r) => !/^\|[\s|:-]+\|$/.test(r))
        .map((r) =>
          r
            .slice(1, -1)
            .split('|')
            .map((c) => inline(c.trim())),
        )
      // long cells become tbl text blocks so they wrap; the last column takes the spare width
      const fmt = cells[0].map((_, k) => (k === cells[0].length - 1 ? 'lx' : 'l')).join(' ')
      const cell = (c) => (c.length > 24 ? `T{\n${line(c)}\nT}` : c)
      out.push('.TS', 'allbox tab(\t);', `${fmt}.`)
      cells.forEach((c) => out.push(line(c.map(cell).join('\t'))))
      out.push('.TE')
    } else if (/^- /.test(l)) {
      let item = l.slice(2)
      while (i + 1 < lines.length && /^ {2}\S/.test(lines[i + 1])) item += ' ' + lines[++i].trim()
      out.push('.IP \\(bu 2', line(inline(item)))
    } else if (l.trim() === '') out.push('.PP')
    else out.push(line(inline(l)))
  }
  out.push('.SH "SEE ALSO"', seeAlso, '')
  return out
    .join('\n')
    .replace(/(\.PP\n)+/g, '.PP\n')
    .replace(/\.PP\n(\.S[HS])/g, '$1')
}

const pages = [
  {
    src: 'docs/FORMAT.md',
    target: 'man/razorfs.5',
    text: convert(
      'docs/FORMAT.md',
      'RAZORFS',
      'razorfs \\- RAZORFS filesystem image format, version 1',
      'razorfs(1), razorfs\\-mkfs(1), razorfs\\-dump(1)',
    ),
  },
  {
    src: 'docs/MANIFEST.md',
    target: 'man/razorfs-manifest.5',
    text: convert(
      'docs/MANIFEST.md',
      'RAZORFS\\-MANIFEST',
      'razorfs\\-manifest \\- the razorfs manifest format (mkfs \\-\\-spec, dump \\-\\-manifest), version 1',
      'razorfs\\-mkfs(1), razorfs\\-dump(1), razorfs\\-diff(1), razorfs(5)',
    ),
  },
]
let stale = false
for (const p of pages) {
  const target = path.join(root, p.target)
  if (process.argv.includes('--check')) {
    const cur = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : ''
    if (cur !== p.text) {
      console.error(`${p.target} is out of date with ${p.src}: run node scripts/format-man.js`)
      stale = true
    }
  } else fs.writeFileSync(target, p.text)
}
if (stale) process.exit(1)
