// The save's walk takes each directory's names and stats from the read-ahead thread while it
// gives them, and lists and stats the rest itself when it stops giving them: at the first
// window of a directory, or in the middle of one. Whichever way, the saved tree is the same,
// every name once, in order.
import t from 'tap'
import type tap from 'tap'
import path from 'node:path'
import { buildTree, tmpDirFor, type FixtureNode } from '../helpers/fixture-tree.js'
import { initSavedir } from '../../lib/repo/init.js'
import { readConfig } from '../../lib/repo/config.js'
import { ObjectStore } from '../../lib/repo/object-store.js'
import { save } from '../../lib/save/save.js'
import { saveReadAhead, type ReadAhead } from '../../lib/save/read-ahead.js'
import { buildSelection } from '../../lib/save/source-paths.js'
import { WarningReporter } from '../../lib/save/warning-reporter.js'
import { lookup, savedComponents } from '../../lib/restore/saveset-walk.js'
import { readTree } from '../../lib/tree/tree-store.js'

/** Files changed an hour ago: none is racy in any of the saves compared. */
const OLD = (BigInt(Date.now()) - 3_600_000n) * 1_000_000n
const file: FixtureNode = { type: 'file', size: 20, seed: 3, mtimeNs: OLD }

function tree(): FixtureNode {
  const big: Record<string, FixtureNode> = {}
  // Three windows of 512 names; subdirectories in the first, second and third.
  for (let i = 0; i < 1300; i++) big[`e${String(i).padStart(4, '0')}`] = i % 450 === 7 ? { type: 'dir', children: { inner: file, deeper: { type: 'dir', children: { x: file } } } } : { type: 'file', size: 20, seed: i, mtimeNs: OLD }
  return { type: 'dir', children: { a: { type: 'dir', children: { f: file } }, big: { type: 'dir', children: big }, z: { type: 'dir', children: { g: file } } } }
}

/** Save `src` into a new savedir; `cut(n)` says whether the read-ahead stops giving windows at its n-th (0-based) answer. */
async function saveWith(t: Parameters<typeof tmpDirFor>[0] & Pick<typeof tap, 'same' | 'equal'>, src: string, cut: ((n: number, dir: Buffer, from: number) => boolean) | null): Promise<{ tree: string; names: number; asked: number }> {
  const savedir = path.join(tmpDirFor(t, 'tarshift-walk-sd-'), 'sd')
  initSavedir(savedir)
  const config = readConfig(savedir)
  const readAhead: ReadAhead = saveReadAhead({ inlineLimit: config.inlineLimit })
  let asked = 0
  let stopped = false
  if (cut !== null) {
    const real = readAhead.window.bind(readAhead)
    readAhead.window = async (dir: Buffer, from: number) => {
      if (!stopped && cut(asked++, dir, from)) stopped = true
      return stopped ? null : real(dir, from)
    }
  }
  const r = await save({ savedir, config, subset: 'walk', selection: buildSelection([Buffer.from(src)], true, '/'), reporter: new WarningReporter(true), readAhead })
  const store = new ObjectStore(savedir, config, { workers: 1 })
  try {
    const e = await lookup(store, Buffer.from(r.summary.root as string, 'hex'), savedComponents(src))
    const big = await lookup(store, Buffer.from(r.summary.root as string, 'hex'), savedComponents(path.join(src, 'big')))
    const names = (await readTree(store, big?.tree as Buffer)).map(x => x.name.toString())
    t.same(names, [...names].sort(), 'names in order')
    t.equal(new Set(names).size, names.length, 'each once')
    return { tree: (e?.tree as Buffer).toString('hex'), names: names.length, asked }
  } finally {
    await store.close()
  }
}

t.test('the same tree whether the read-ahead gives every window, none, or stops midway', async t => {
  const src = path.join(tmpDirFor(t, 'tarshift-walk-'), 'src')
  buildTree(src, tree())
  const all = await saveWith(t, src, null)
  t.equal(all.names, 1300)
  const none = await saveWith(t, src, () => true)
  t.equal(none.tree, all.tree, 'no window from the read-ahead: the same tree')
  const bigPath = path.join(src, 'big')
  // Stops at big's second window (after its first window's subdirectory was walked), and at
  // big's third: the save lists big itself and goes on after the last name it had.
  for (const at of [512, 1024]) {
    let hit = false
    const mid = await saveWith(t, src, (_n, dir, from) => (hit ||= dir.toString() === bigPath && from === at))
    t.ok(hit, `the read-ahead was asked for big's window at ${at}`)
    t.equal(mid.tree, all.tree, `stopped at big's window at ${at}: the same tree`)
  }
  // Stops at the first window of a directory inside big.
  const inner = await saveWith(t, src, (_n, dir, from) => dir.toString().endsWith('/deeper') && from === 0)
  t.equal(inner.tree, all.tree, 'stopped inside a subdirectory: the same tree')
})
