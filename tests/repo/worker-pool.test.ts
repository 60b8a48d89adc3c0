// The store's worker pool: closing it right after it started must not abort the process.
// Terminating a worker that is still loading zstd-napi threw a C++ exception into a dying
// environment (SIGABRT, exit 134) in about 2% of quick refusals; close() now waits until each
// worker has loaded its modules.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { newSavedir } from '../helpers/cli.js'

t.test('open and close at once, many times: no abort', async t => {
  const savedir = newSavedir(t)
  const child = new URL('./open-close-child.js', import.meta.url).pathname
  const r = spawnSync(process.execPath, [child, savedir, '80'], { encoding: 'utf8', timeout: 120_000 })
  t.equal(r.signal, null, `no signal (stderr: ${r.stderr.trim()})`)
  t.equal(r.status, 0, `exit 0 (stderr: ${r.stderr.trim()})`)
  t.equal(r.stdout, 'closed\n')
})
