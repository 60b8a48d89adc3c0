// bin/tarshift gives `save` to a savedir on a network or FUSE file system a pool of 32 libuv
// threads (there up to 32 puts run at once: lib/repo/native-puts.ts, putConcurrency), and a
// save to a local disk libuv's 4, unless the environment sets UV_THREADPOOL_SIZE; it must do so
// before node's ES module loader starts the pool (bin/tarshift is CommonJS for that). Seen from
// outside: the threads a real save creates, counted by strace(1) (libuv starts all of its
// pool's threads at the pool's first use; a save of a few files puts objects there). Which
// savedirs count as remote: bin/remote-savedir.cjs, tested in tests/integration/sshfs.test.ts.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { buildTree, seededBytes, tmpDirFor } from '../helpers/fixture-tree.js'
import { TARSHIFT_BIN, initSavedirAt } from '../helpers/cli.js'

/** Threads (clone/clone3 with CLONE_THREAD) created by `tarshift ARGS`, and its exit status. */
function threadsCreated(t: Parameters<typeof tmpDirFor>[0], args: (savedir: string, src: string) => string[], pool: string | undefined): { threads: number; status: number | null } {
  const work = tmpDirFor(t)
  const src = path.join(work, 'src')
  buildTree(src, { type: 'dir', children: { a: { type: 'file', content: seededBytes(300_000, 1) }, b: { type: 'file', content: 'small\n' } } })
  const savedir = initSavedirAt(path.join(work, 'sd'))
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: path.join(work, 'cache') }
  delete env.UV_THREADPOOL_SIZE
  if (pool !== undefined) env.UV_THREADPOOL_SIZE = pool
  const log = path.join(work, 'strace.log')
  const r = spawnSync('strace', ['-f', '-qq', '-o', log, '-e', 'trace=clone,clone3', 'env', '-u', 'NODE_OPTIONS', process.execPath, TARSHIFT_BIN, ...args(savedir, src)], { env, timeout: 60_000 })
  if (r.error) throw r.error
  const threads = fs.readFileSync(log, 'latin1').split('\n').filter(l => /clone3?\(.*CLONE_THREAD/.test(l)).length
  return { threads, status: r.status }
}

t.test('a save to a local savedir keeps libuv\'s 4 threads; a UV_THREADPOOL_SIZE of the user\'s own is kept', async t => {
  const save = (savedir: string, src: string): string[] => ['save', '-r', savedir, '--subset', 's', src, '--progress', 'none']
  const dflt = threadsCreated(t, save, undefined)
  const own = threadsCreated(t, save, '20')
  t.equal(dflt.status, 0)
  t.equal(own.status, 0)
  t.ok(own.threads > 20 && own.threads < 40, `UV_THREADPOOL_SIZE=20: ${own.threads} threads created`)
  t.equal(own.threads - dflt.threads, 16, `no UV_THREADPOOL_SIZE: ${dflt.threads} threads, 16 fewer than with 20 (4 in the pool)`)
  const list = threadsCreated(t, savedir => ['list', '-r', savedir], undefined)
  t.equal(list.status, 0)
  t.ok(list.threads <= dflt.threads, `list: ${list.threads} threads`)
})
