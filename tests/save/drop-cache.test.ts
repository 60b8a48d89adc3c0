// A save leaves the page cache as it found it for large files (lib/save/file-reader.ts,
// DROP_OVER): a file over 4 MiB none of whose pages were cached is dropped from the cache as it
// is read; one that was cached (someone's, say a database's) stays cached; smaller files are
// left to the kernel.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { newSavedir, saveJson, showRun, tarshift } from '../helpers/cli.js'
import { diskTmpDir, evict, residentBytes } from '../helpers/page-cache.js'
import { seededBytes } from '../helpers/fixture-tree.js'

const MiB = 1024 * 1024

t.test('a large file not cached leaves the cache; one cached stays', async t => {
  const src = diskTmpDir(t, 'tarshift-dropcache-')
  const cold = path.join(src, 'cold.img')
  const hot = path.join(src, 'hot.img')
  const small = path.join(src, 'small.bin')
  fs.writeFileSync(cold, seededBytes(12 * MiB + 4096 * 3 + 17, 1))
  fs.writeFileSync(hot, seededBytes(9 * MiB, 2))
  fs.writeFileSync(small, seededBytes(3 * MiB, 3))
  for (const f of [cold, hot, small]) evict(f)
  fs.readFileSync(hot)
  t.equal(residentBytes(cold), 0, 'cold.img: not cached before the save')
  t.equal(residentBytes(hot), 9 * MiB, 'hot.img: all cached before the save')

  const savedir = newSavedir(t)
  const r = tarshift(['save', '-r', savedir, '--subset', 'c', '--progress', 'none', '--json', src])
  t.equal(r.status, 0, showRun(r))
  t.equal(saveJson(r).bytesRead, fs.statSync(cold).size + 9 * MiB + 3 * MiB, 'every file read')
  t.equal(residentBytes(cold), 0, 'cold.img: read, and not left in the cache')
  t.equal(residentBytes(hot), 9 * MiB, 'hot.img: still all cached')
  t.ok(residentBytes(small) > 0, 'small.bin (4 MiB or less): left to the kernel, cached')
  const cat = tarshift(['cat', '-r', savedir, 'latest', cold])
  t.ok(cat.stdout.equals(fs.readFileSync(cold)), 'and cold.img was saved exactly')
})
