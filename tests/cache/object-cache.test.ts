// lib/cache/object-cache.ts: the local cache as a save opens and closes it. Dropped at a new
// generation and when the savedir lacks this host's last saveset; the LMDB files of earlier
// versions removed; a cache that cannot be written is a note, never a failure.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { ObjectCache, cacheDir, STATE_FILE } from '../../lib/cache/object-cache.js'
import { OBJECTS_FILE } from '../../lib/cache/object-times.js'
import { newSavedir } from '../helpers/cli.js'
import { tmpDirFor } from '../helpers/fixture-tree.js'

const hex = (c: string): string => c.repeat(64)

function withCacheHome(t: Parameters<typeof tmpDirFor>[0]): string {
  const home = tmpDirFor(t, 'tarshift-cache-home-')
  const old = process.env.XDG_CACHE_HOME
  process.env.XDG_CACHE_HOME = home
  t.teardown(() => { if (old === undefined) delete process.env.XDG_CACHE_HOME; else process.env.XDG_CACHE_HOME = old })
  return home
}

/** Runs f with process.stderr.write captured; what was written. */
async function stderrOf(f: () => Promise<void>): Promise<string> {
  const write = process.stderr.write.bind(process.stderr)
  let out = ''
  process.stderr.write = ((s: string | Uint8Array) => { out += String(s); return true }) as typeof process.stderr.write
  try {
    await f()
  } finally {
    process.stderr.write = write
  }
  return out
}

t.test('times and the saveset are kept; a new generation or a savedir put back drops them', async t => {
  withCacheHome(t)
  const savedir = newSavedir(t)
  let c = await ObjectCache.open(savedir, 'repo1', 3)
  c.record(hex('a'), 1000)
  c.noteSaveset('20261207T000000Z_h_s_00000000')
  await c.close()
  const dir = cacheDir('repo1')
  t.same(JSON.parse(fs.readFileSync(path.join(dir, STATE_FILE), 'utf8')), { generation: 3, saveset: '20261207T000000Z_h_s_00000000' })
  // The savedir lacks that saveset: put back from an older copy.
  let note = ''
  note = await stderrOf(async () => { c = await ObjectCache.open(savedir, 'repo1', 3) })
  t.match(note, /lacks saveset 20261207T000000Z_h_s_00000000.*dropped/, 'says why it drops the cache')
  t.equal(c.touchedAt(hex('a')), undefined, 'and knows nothing')
  c.record(hex('b'), 2000)
  await c.close()
  c = await ObjectCache.open(savedir, 'repo1', 3)
  t.equal(c.touchedAt(hex('b')), 2000, 'kept at the same generation')
  await c.close()
  c = await ObjectCache.open(savedir, 'repo1', 4)
  t.equal(c.touchedAt(hex('b')), undefined, 'dropped at the next')
  await c.close()
})

t.test("an earlier version's LMDB files are removed", async t => {
  withCacheHome(t)
  const savedir = newSavedir(t)
  const dir = cacheDir('repo2')
  fs.mkdirSync(path.join(dir, 'summaries'), { recursive: true })
  for (const f of ['data.mdb', 'lock.mdb', 'summaries/data.mdb']) fs.writeFileSync(path.join(dir, f), 'old')
  const c = await ObjectCache.open(savedir, 'repo2', 0)
  c.recordSummary(hex('c'), Buffer.from('a summary'))
  await c.close()
  t.same(fs.readdirSync(dir).sort(), ['state.json', 'summaries', 'summaries.index'], 'only the new files (no object recorded: no log)')
  t.ok(fs.statSync(path.join(dir, 'summaries')).isFile(), 'summaries is the new file')
})

t.test('a cache that cannot be written: one note, the rest goes on', async t => {
  withCacheHome(t)
  const savedir = newSavedir(t)
  const c = await ObjectCache.open(savedir, 'repo3', 0)
  fs.mkdirSync(path.join(cacheDir('repo3'), OBJECTS_FILE)) // appending to it fails (EISDIR)
  const note = await stderrOf(async () => {
    for (let i = 0; i < 20000; i++) c.record(i.toString(16).padStart(64, '0'), i)
    await c.close()
  })
  t.equal(note.split('\n').filter(Boolean).length, 1, `one line (${note.trim()})`)
  t.match(note, /local cache not updated/)
  t.equal(c.touchedAt(hex('0')), 0, 'what was recorded is still known to this save')
})

t.test('a cache directory that cannot be made: the save runs without one', async t => {
  const home = withCacheHome(t)
  fs.writeFileSync(path.join(home, 'tarshift'), 'not a directory')
  const savedir = newSavedir(t)
  let c: ObjectCache | undefined
  const note = await stderrOf(async () => { c = await ObjectCache.open(savedir, 'repo4', 0) })
  t.match(note, /local cache unavailable/)
  c?.record(hex('d'), 1)
  t.equal(c?.touchedAt(hex('d')), undefined, 'it records nothing')
  await c?.close()
})
