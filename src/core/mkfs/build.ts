/**
 * Filling an image for mkfs from its sources, in this order: a host tree
 * (populate), a tar stream over it (tar-import.ts), then a manifest over
 * both (spec-apply.ts). File data goes through the DataPipeline (planned on
 * worker threads). Owner maps, exclusions and timestamp clamping apply to
 * the tree and the tar; the manifest's own values are final (only clamped).
 */
import type {Image} from '../image/image.js'
import {PlanPool} from '../fs/plan-pool.js'
import {populate} from '../host/populate.js'
import {copyHostFile, type BuildOptions, type BuildResult, type BuildWarning} from './build-context.js'
import {DataPipeline} from './pipeline.js'
import {Prefetcher} from './prefetch.js'
import {applySpec} from './spec-apply.js'
import {importTar} from './tar-import.js'
import {TreeEditor} from './tree-edit.js'

export type {BuildOptions, BuildPhase, BuildProgress, BuildResult, BuildWarning} from './build-context.js'

export async function buildImage(img: Image, o: BuildOptions): Promise<BuildResult> {
  const res: BuildResult = {
    files: 0,
    directories: 0,
    symlinks: 0,
    hardlinks: 0,
    specials: 0,
    bytesIn: 0,
    warnings: 0,
    implicitDirs: 0,
  }
  const warn = (w: BuildWarning) => {
    res.warnings++
    o.onWarning?.(w)
  }
  const pool = new PlanPool(o.workers)
  const pipe = new DataPipeline(img, pool, img.defaultPlanSettings(), o.pack ?? true)
  try {
    if (o.root !== undefined) {
      o.onPhase?.('tree')
      const ahead = new Prefetcher(o.root, o.exclude, pipe)
      try {
        const r = populate(img, o.root, {
          exclude: o.exclude,
          mapAttrs: (a) => o.policy.source(a),
          copyData: (src, ino) => {
            const h = ahead.take(src)
            return h ? pipe.writeFile(h, ino) : copyHostFile(pipe, src, ino)
          },
          onProgress: (p) => o.onProgress?.({phase: 'tree', ...p}),
          onWarning: (w) => o.onWarning?.(w),
        })
        for (const k of ['files', 'directories', 'symlinks', 'hardlinks', 'specials', 'bytesIn', 'warnings'] as const)
          res[k] += r[k]
      } finally {
        ahead.close()
      }
    }
    const editor = new TreeEditor(img, o.policy, o.now)
    if (o.tar) {
      o.onPhase?.('tar')
      await importTar(img, o, editor, pipe, res, warn)
    }
    if (o.spec) {
      o.onPhase?.('spec')
      applySpec(img, o, editor, pipe, res)
    }
    o.onPhase?.('write')
    pipe.flushPacks()
    editor.finish()
    res.implicitDirs = editor.implicitDirs
    return res
  } finally {
    await pool.close()
  }
}
