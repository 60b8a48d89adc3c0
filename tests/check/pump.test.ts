// Bounded concurrency: the limit holds, work that makes more work is drained, errors reject.
import t from 'tap'
import { pump } from '../../lib/check/pump.js'

const tick = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

t.test('at most `limit` in flight; items made by work are done too', async t => {
  const stack = [1]
  const done: number[] = []
  let running = 0
  let peak = 0
  await pump(() => stack.pop(), async n => {
    running++
    peak = Math.max(peak, running)
    await tick(n % 3)
    // A binary tree of 63 nodes: each item below 32 makes two more.
    if (n < 32) stack.push(2 * n, 2 * n + 1)
    done.push(n)
    running--
  }, 4)
  t.equal(done.length, 63, 'every item')
  t.same([...done].sort((a, b) => a - b), Array.from({ length: 63 }, (_, i) => i + 1))
  t.ok(peak <= 4, `peak ${peak} in flight`)
  t.ok(peak > 1, 'and more than one at once')
})

t.test('nothing to do resolves at once; an error rejects', async t => {
  await pump(() => undefined, async () => { throw new Error('never') }, 8)
  t.pass('empty')
  const items = [1, 2, 3]
  await t.rejects(pump(() => items.pop(), async n => { if (n === 2) throw new Error('two') }, 2), /two/)
})
