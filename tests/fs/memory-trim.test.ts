// malloc_trim through the native addon, and the timer that calls it during a save.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { native } from '../../lib/fs/native.js'
import { trimMemoryEvery } from '../../lib/fs/memory-trim.js'

t.test('mallocTrim releases freed heap pages (glibc)', async t => {
  // In a child with gc exposed: fill and free many blocks below the mmap threshold (they stay
  // in the arena), collect them, then trim: something must have been handed back.
  const addon = fileURLToPath(new URL('../../../build/Release/tarshift_fs.node', import.meta.url))
  const script = `const n = require(${JSON.stringify(addon)}); n.mallocTrim()
    let keep = []; for (let i = 0; i < 8000; i++) keep.push(Buffer.allocUnsafeSlow(16384).fill(i & 255))
    keep = null; gc(); gc(); process.stdout.write(String(n.mallocTrim()))`
  const r = spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, '--expose-gc', '-e', script], { encoding: 'utf8' })
  t.equal(r.stderr, '')
  t.equal(r.stdout, 'true', 'freed pages were released')
  t.equal(typeof native.mallocTrim(), 'boolean')
})

t.test('trimMemoryEvery runs until stopped and never keeps the process alive', async t => {
  const stop = trimMemoryEvery(5)
  await new Promise(r => setTimeout(r, 30))
  stop()
  t.pass('stopped')
})
