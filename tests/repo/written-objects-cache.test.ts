// Objects written by a save leave the page cache once written out (native/put-objects.c,
// drop_later): of a save that writes ~96 MiB of large objects to a savedir on a disk, only the
// last ~32 MiB (DROP_LAG) stay cached. Small objects are left to the kernel.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { initSavedirAt, saveJson, showRun, tarshift } from '../helpers/cli.js'
import { diskTmpDir, residentBytes } from '../helpers/page-cache.js'
import { seededBytes } from '../helpers/fixture-tree.js'

const MiB = 1024 * 1024

function objectFiles(dir: string): string[] {
  const out: string[] = []
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith('.data')) out.push(path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))
  }
  return out
}

t.test('a save of large files: the objects written early are no longer cached', async t => {
  const src = diskTmpDir(t, 'tarshift-written-src-')
  fs.writeFileSync(path.join(src, 'big.img'), seededBytes(96 * MiB, 7))
  fs.writeFileSync(path.join(src, 'small.txt'), 'a small file\n')
  const savedir = initSavedirAt(path.join(diskTmpDir(t, 'tarshift-written-sd-'), 'sd'))
  const r = tarshift(['save', '-r', savedir, '--subset', 'w', '--progress', 'none', '--json', src])
  t.equal(r.status, 0, showRun(r))
  t.equal(saveJson(r).bytesRead, 96 * MiB + 13)

  const objects = objectFiles(path.join(savedir, 'chunks')).map(f => ({ f, size: fs.statSync(f).size, resident: residentBytes(f) }))
  const large = objects.filter(o => o.size >= 64 * 1024)
  const stored = large.reduce((n, o) => n + o.size, 0)
  const resident = large.reduce((n, o) => n + o.resident, 0)
  t.ok(stored >= 96 * MiB, `the large objects hold the file (random bytes, stored as they are): ${stored} bytes`)
  t.ok(resident <= 64 * MiB, `at most the last ~32 MiB written (and what writeback had not finished) stay cached: ${resident} of ${stored} bytes`)
  t.ok(large.some(o => o.resident === 0), 'objects written early left the cache whole')

  const cat = tarshift(['cat', '-r', savedir, 'latest', path.join(src, 'big.img')])
  t.equal(cat.status, 0, showRun(cat))
  t.ok(cat.stdout.equals(fs.readFileSync(path.join(src, 'big.img'))), 'and the file reads back exactly from the objects')
})
