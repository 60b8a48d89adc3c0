// Items gathered until the batch is full (items or bytes) or the event loop turns.
import t from 'tap'
import { TurnBatch } from '../../lib/repo/turn-batch.js'

t.test('full by count, full by bytes, or sent when the loop turns; discard drops', async t => {
  const sent: number[][] = []
  const b = new TurnBatch<number>(items => sent.push(items), 3, 100)
  b.add(1); b.add(2); b.add(3)
  t.same(sent, [[1, 2, 3]], 'sent at once when full by count')
  b.add(4, 60); b.add(5, 60)
  t.same(sent[1], [4, 5], 'sent at once when full by bytes')
  b.add(6)
  t.equal(sent.length, 2, 'a partial batch waits')
  await new Promise(r => setImmediate(r))
  t.same(sent[2], [6], 'and goes when the loop turns')
  b.add(7); b.flush(); b.flush()
  t.same(sent.slice(3), [[7]], 'flush sends what is there, once')
  b.add(8); b.discard()
  await new Promise(r => setImmediate(r))
  t.equal(sent.length, 4, 'discarded items are never sent')
})

t.test('without onTurn a partial batch waits for flush, across turns', async t => {
  const sent: number[][] = []
  const b = new TurnBatch<number>(items => sent.push(items), 3, Infinity, false)
  b.add(1)
  await new Promise(r => setImmediate(r))
  await new Promise(r => setTimeout(r, 20))
  t.same(sent, [], 'not sent when the loop turns')
  b.add(2); b.add(3)
  t.same(sent, [[1, 2, 3]], 'sent when full')
  b.add(4)
  b.flush()
  t.same(sent[1], [4], 'or when flushed')
})
