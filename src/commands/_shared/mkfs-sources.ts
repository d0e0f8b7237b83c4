/** mkfs --spec FILE read before the build (the core measures and builds; an unreadable manifest is a host error naming FILE). */
import fs from 'node:fs'
import path from 'node:path'
import {parseManifest, type ManifestEntry} from '../../core/index.js'
import {HostError} from './errors.js'

/** Read a manifest file (line form or JSON). */
export function readSpec(file: string): {entries: ManifestEntry[]; dir: string} {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (e) {
    throw new HostError(
      file,
      (e as NodeJS.ErrnoException).code ?? 'EIO',
      `cannot read the manifest (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    )
  }
  return {entries: parseManifest(text, file), dir: path.dirname(path.resolve(file))}
}
