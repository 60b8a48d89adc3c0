// bin/tarshift gives `save` a pool of 32 libuv threads (over the network up to 32 puts run at
// once: lib/repo/native-puts.ts, putConcurrency), unless the environment sets UV_THREADPOOL_SIZE;
// it must do so before node's ES module loader starts the pool (bin/tarshift is CommonJS for
// that). Seen from outside: the threads of a running save, in /proc/PID/task, while it waits
// for its list of paths on stdin.
import t from 'tap'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { tmpDirFor } from '../helpers/fixture-tree.js'
import { TARSHIFT_BIN, initSavedirAt } from '../helpers/cli.js'

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

/** Threads of a save waiting on stdin, once their number has settled; then stdin is closed. */
async function threadsOfWaitingSave(t: Parameters<typeof tmpDirFor>[0], pool: string | undefined): Promise<number> {
  const work = tmpDirFor(t)
  const savedir = initSavedirAt(path.join(work, 'sd'))
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: path.join(work, 'cache') }
  delete env.NODE_OPTIONS
  delete env.UV_THREADPOOL_SIZE
  if (pool !== undefined) env.UV_THREADPOOL_SIZE = pool
  const child = spawn(process.execPath, [TARSHIFT_BIN, 'save', '-r', savedir, '--subset', 's', '--files-from', '-', '--null', '--progress', 'none'], { env, stdio: ['pipe', 'ignore', 'ignore'] })
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
  let last = -1
  let settled = 0
  for (let i = 0; i < 200 && settled < 5; i++) {
    await sleep(50)
    let n: number
    try {
      n = fs.readdirSync(`/proc/${child.pid}/task`).length
    } catch {
      break
    }
    settled = n === last ? settled + 1 : 0
    last = n
  }
  child.stdin.end()
  await exited
  return last
}

t.test('a save runs with 32 threads in libuv\'s pool; a UV_THREADPOOL_SIZE of the user\'s own is kept', async t => {
  const dflt = await threadsOfWaitingSave(t, undefined)
  const own = await threadsOfWaitingSave(t, '6')
  t.ok(own > 6 && own < 30, `UV_THREADPOOL_SIZE=6: ${own} threads in all`)
  t.ok(dflt >= own + 26, `no UV_THREADPOOL_SIZE: ${dflt} threads, 26 more than with 6`)
})
