#!/usr/bin/env node
/**
 * List layer violations in src/core: a folder may import only from folders before it in
 * LAYERS (and from itself), plus the shared top-level files (errors.ts, types.ts).
 * Parses `from '../x/...'` (and `import('../x/...')`) in every .ts file under src/core.
 *
 *   node scripts/check-layers.mjs    prints one line per violation; exit 1 if there are any
 */
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const LAYERS = ['format', 'io', 'journal', 'tree', 'fs', 'image', 'host', 'edit', 'mkfs', 'check', 'debug']
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'src', 'core')

function* tsFiles(dir) {
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) yield* tsFiles(path)
    else if (entry.name.endsWith('.ts')) yield path
  }
}

const importPattern = /(?:from\s+|import\s*\(\s*)'(\.\.?\/[^']*)'/g
const violations = []
for (const file of tsFiles(root)) {
  const folder = relative(root, file).split(/[\\/]/)[0]
  const rank = LAYERS.indexOf(folder)
  if (rank < 0) continue // errors.ts, types.ts, index.ts: the shared top level
  const text = readFileSync(file, 'utf8')
  for (const match of text.matchAll(importPattern)) {
    // the first folder below src/core of the imported file ('' for the shared top-level files)
    const parts = relative(root, resolve(dirname(file), match[1])).split(/[\\/]/)
    if (parts.length < 2) continue
    const target = parts[0]
    if (target === folder) continue
    const targetRank = LAYERS.indexOf(target)
    if (targetRank < 0 || targetRank > rank) {
      const line = text.slice(0, match.index).split('\n').length
      violations.push(`src/core/${relative(root, file)}:${line}: ${folder} imports ${target}`)
    }
  }
}
for (const v of violations) console.log(v)
if (violations.length > 0) {
  console.log(`${violations.length} layer violation(s); order: ${LAYERS.join(' → ')}`)
  process.exit(1)
}
