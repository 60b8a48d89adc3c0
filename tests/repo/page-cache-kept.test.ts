// pageCacheKept: objects are read ahead into the page cache where the pages stay until their
// read (a local file system: shown with fincore), not on FUSE (tests/integration/sshfs.test.ts).
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { pageCacheKept } from '../../lib/repo/page-cache-kept.js'
import { seededBytes } from '../helpers/fixture-tree.js'
import { diskTmpDir, evict, residentBytes } from '../helpers/page-cache.js'

t.test('a local file system keeps the pages: objects are read ahead', async t => {
  const dir = diskTmpDir(t, 'tarshift-pck-')
  const f = path.join(dir, 'probe')
  fs.writeFileSync(f, seededBytes(256 * 1024, 5))
  evict(f)
  t.equal(residentBytes(f), 0, 'evicted first')
  fs.readFileSync(f)
  const cached = residentBytes(f)
  t.ok(cached >= 256 * 1024, `read once, still cached when opened again (fincore: ${cached} bytes)`)
  t.equal(pageCacheKept(dir), true, 'objects are read ahead here')
})

t.test('a savedir that cannot be reached: read ahead as usual (the store reports it)', async t => {
  t.equal(pageCacheKept('/nonexistent/tarshift-savedir'), true)
})
