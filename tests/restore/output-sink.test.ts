// The restore's output batching: pieces gathered without copies and handed over in vectored
// writes (writev on a file's descriptor, a corked stream otherwise), the order of bytes kept,
// backpressure respected.
import t from 'tap'
import { Writable } from 'node:stream'
import { closeSync, createWriteStream, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { OutputSink } from '../../lib/restore/output-sink.js'

function pieces(n: number): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < n; i++) {
    const size = i % 7 === 0 ? 300 * 1024 + i : 1 + ((i * 977) % 5000)
    out.push(Buffer.alloc(size, i & 255))
  }
  return out
}

/** A slow reader that takes vectored writes: write() returns false, the sink must wait for 'drain'. */
function collector(highWaterMark = 16 * 1024): { out: Writable; got: Buffer[]; calls: number[] } {
  const got: Buffer[] = []
  const calls: number[] = []
  const out = new Writable({
    highWaterMark,
    writev(chunks, cb) {
      calls.push(chunks.length)
      for (const c of chunks) got.push(c.chunk as Buffer)
      setImmediate(cb)
    },
  })
  return { out, got, calls }
}

t.test('a stream: same bytes, same order, no piece copied, a batch in one vectored write', async t => {
  const { out, got, calls } = collector()
  const sink = new OutputSink(out, 64 * 1024)
  const ps = pieces(300)
  for (const p of ps) await sink.write(p)
  await sink.end()
  t.ok(Buffer.concat(got).equals(Buffer.concat(ps)), 'the stream is the concatenation, in order')
  t.equal(sink.bytes, ps.reduce((n, p) => n + p.length, 0))
  t.ok(ps.every((p, i) => got[i] === p), 'every piece reached the stream as the same buffer')
  t.ok(calls.length < ps.length / 4, `pieces went out corked, several to a call (${calls.length} calls for ${ps.length} pieces)`)
  t.ok(Math.max(...calls) > 1)
})

t.test('a file: written with writev on its descriptor, in order, more pieces than one writev takes', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tarshift-sink-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'out')
  const fd = openSync(path, 'w')
  const out = createWriteStream('', { fd, autoClose: false })
  let streamWrites = 0
  const origWrite = out.write.bind(out)
  out.write = ((...a: Parameters<typeof out.write>) => { streamWrites++; return origWrite(...a) }) as typeof out.write
  const sink = new OutputSink(out, 1 << 20)
  const ps = [...pieces(200), ...Array.from({ length: 3000 }, (_, i) => Buffer.from([i & 255]))]
  for (const p of ps) await sink.write(p)
  await sink.end()
  closeSync(fd)
  t.ok(readFileSync(path).equals(Buffer.concat(ps)), 'the file holds the concatenation, in order')
  t.equal(streamWrites, 0, 'nothing went through the stream')
})
