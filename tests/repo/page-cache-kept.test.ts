// pageCacheKept: objects are read ahead into the page cache where the pages stay until their
// read (a local file system: shown with fincore), not on FUSE (tests/integration/sshfs.test.ts).
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { pageCacheKept } from '../../lib/repo/page-cache-kept.js'
import { tmpDirFor, seededBytes } from '../helpers/fixture-tree.js'

t.test('a local file system keeps the pages: objects are read ahead', async t => {
  const dir = tmpDirFor(t, 'tarshift-pck-')
  const f = path.join(dir, 'probe')
  fs.writeFileSync(f, seededBytes(256 * 1024, 5))
  spawnSync('sh', ['-c', 'sync; echo 3 > /proc/sys/vm/drop_caches'])
  fs.readFileSync(f)
  const cached = Number(spawnSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', f]).stdout.toString().trim())
  t.ok(cached >= 256 * 1024, `read once, still cached when opened again (fincore: ${cached} bytes)`)
  t.equal(pageCacheKept(dir), true, 'objects are read ahead here')
})

t.test('a savedir that cannot be reached: read ahead as usual (the store reports it)', async t => {
  t.equal(pageCacheKept('/nonexistent/tarshift-savedir'), true)
})
