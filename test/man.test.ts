// The man pages are generated (commands from oclif metadata, razorfs(5) from
// docs/FORMAT.md); this fails when a committed page is stale.
import t from 'tap'
import {spawnSync} from 'node:child_process'
import {PROJECT} from './helpers/image.js'

for (const script of ['scripts/gen-man.js', 'scripts/format-man.js']) {
  t.test(`${script} --check`, async (t) => {
    const r = spawnSync(process.execPath, [script, '--check'], {cwd: PROJECT, encoding: 'utf8'})
    t.equal(r.status, 0, r.stderr)
  })
}
