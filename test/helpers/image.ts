/**
 * Small helpers shared by the tests: temporary directories, building an image
 * from a host tree through the library, and running the CLI binary.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import crypto from 'node:crypto'
import {spawn, spawnSync, type SpawnSyncReturns} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {Image, populate, type CreateOptions, type PopulateResult, type PopulateWarning} from '../../src/core/index.js'

export const PROJECT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const BIN = path.join(PROJECT, 'bin', 'run.js')

export interface TapLike {
  teardown(fn: () => void | Promise<void>): void
}

/** A fresh temporary directory removed when the test ends (keep with RAZORFS_TEST_KEEP_TMP=1). */
export function tmpDir(t: TapLike, label = 'test'): string {
  const d = fs.mkdtempSync(path.join(process.env.RAZORFS_TEST_TMP || os.tmpdir(), `razorfs-${label}-`))
  t.teardown(() => {
    if (process.env.RAZORFS_TEST_KEEP_TMP !== '1') fs.rmSync(d, {recursive: true, force: true})
  })
  return d
}

export interface Built {
  path: string
  result: PopulateResult
  warnings: PopulateWarning[]
  ms: number
}

/** Image.create + populate + close: what `razorfs mkfs IMG --root DIR` does. */
export function buildImage(imagePath: string, root: string, opts: CreateOptions): Built {
  const started = Date.now()
  const warnings: PopulateWarning[] = []
  const img = Image.create(imagePath, opts)
  let result: PopulateResult
  try {
    result = populate(img, root, {onWarning: (w) => warnings.push(w)})
  } finally {
    img.close()
  }
  return {path: imagePath, result, warnings, ms: Date.now() - started}
}

/** Bytes the file occupies on the host (st_blocks × 512). */
export function allocatedBytes(p: string): number {
  return fs.statSync(p).blocks * 512
}

export const MiB = 1024 * 1024
export const GiB = 1024 * MiB

// ---------------------------------------------------------------------------
// the CLI

export interface RunResult {
  status: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  stdoutBuf: Buffer
}

/** Run ./bin/run.js with arguments; no stdin, CI-like environment, no colour. */
export function cli(
  args: string[],
  opts: {cwd?: string; timeoutMs?: number; env?: Record<string, string>} = {},
): RunResult {
  const r: SpawnSyncReturns<Buffer> = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? PROJECT,
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 30,
    timeout: opts.timeoutMs ?? 300_000,
    env: {...process.env, NO_COLOR: '1', FORCE_COLOR: '0', CI: 'true', ...opts.env, NODE_OPTIONS: ''},
  })
  if (r.error) throw r.error
  return {
    status: r.status,
    signal: r.signal,
    stdout: r.stdout.toString('utf8'),
    stderr: r.stderr.toString('utf8'),
    stdoutBuf: r.stdout,
  }
}

/**
 * Why the CLI cannot be run, or undefined when it can: bin/run.js must exist
 * and dist/ must be built and not older than src/ (`npm ci` runs `prepare`,
 * which builds; after editing src/ run `npm run build`).
 */
export function cliUnavailable(): string | undefined {
  if (!fs.existsSync(BIN)) return `${path.relative(PROJECT, BIN)} does not exist`
  const dist = path.join(PROJECT, 'dist')
  if (!fs.existsSync(path.join(dist, 'commands')))
    return 'dist/commands is missing: run `npm run build` (npm ci does it through prepare)'
  const newest = (dir: string, ext: string): number => {
    let m = 0
    for (const e of fs.readdirSync(dir, {withFileTypes: true, recursive: true})) {
      if (e.isFile() && e.name.endsWith(ext))
        m = Math.max(m, fs.statSync(path.join(e.parentPath ?? e.path, e.name)).mtimeMs)
    }
    return m
  }
  const src = newest(path.join(PROJECT, 'src'), '.ts')
  const built = newest(dist, '.js')
  if (src > built + 1000) return 'dist/ is older than src/: run `npm run build` first (the test command does it)'
  return undefined
}

/** Run the CLI and hash its stdout as it streams (for large `cat` output). */
export function cliHash(
  args: string[],
  timeoutMs = 300_000,
): Promise<{status: number | null; sha256: string; bytes: number; stderr: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: PROJECT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {...process.env, NO_COLOR: '1', FORCE_COLOR: '0', CI: 'true', NODE_OPTIONS: ''},
    })
    const h = crypto.createHash('sha256')
    let bytes = 0
    let stderr = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.stdout.on('data', (b: Buffer) => {
      h.update(b)
      bytes += b.length
    })
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
    child.on('error', reject)
    child.on('close', (status) => {
      clearTimeout(timer)
      resolve({status, sha256: h.digest('hex'), bytes, stderr})
    })
  })
}
