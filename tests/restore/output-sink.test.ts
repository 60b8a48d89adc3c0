// The restore's output batching: small pieces gathered, large ones passed on as they are, the
// order of bytes kept, backpressure respected.
import t from 'tap'
import { Writable } from 'node:stream'
import { OutputSink } from '../../lib/restore/output-sink.js'

function collector(highWaterMark = 16 * 1024): { out: Writable; got: Buffer[] } {
  const got: Buffer[] = []
  const out = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, cb) {
      got.push(chunk)
      setImmediate(cb) // slow reader: write() returns false, the sink must wait for 'drain'
    },
  })
  return { out, got }
}

t.test('mixed small and large writes: same bytes, same order; large pieces not copied', async t => {
  const { out, got } = collector()
  const sink = new OutputSink(out, 64 * 1024)
  const pieces: Buffer[] = []
  for (let i = 0; i < 300; i++) {
    const size = i % 7 === 0 ? 300 * 1024 + i : 1 + ((i * 977) % 5000)
    pieces.push(Buffer.alloc(size, i & 255))
  }
  for (const p of pieces) await sink.write(p)
  await sink.end()
  t.ok(Buffer.concat(got).equals(Buffer.concat(pieces)), 'the stream is the concatenation, in order')
  t.equal(sink.bytes, pieces.reduce((n, p) => n + p.length, 0))
  const large = pieces.filter(p => p.length >= 256 * 1024)
  t.ok(large.every(p => got.includes(p)), 'each large piece reached the stream as the same buffer')
  t.ok(got.filter(g => !large.includes(g)).every(g => g.length <= 64 * 1024 + 5000), 'small pieces went out in batches near the batch size')
})
