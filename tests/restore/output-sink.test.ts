// The restore's output batching: pieces gathered without copies and handed over in vectored
// writes (writev on a file's descriptor, a corked stream otherwise), the order of bytes kept,
// backpressure respected; a pipe made to hold a batch.
import t from 'tap'
import { Writable } from 'node:stream'
import { closeSync, constants, createWriteStream, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { constants as osConstants, tmpdir } from 'node:os'
import { join } from 'node:path'
import { OutputSink } from '../../lib/restore/output-sink.js'
import { native } from '../../lib/fs/native.js'

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

t.test('a piece written with a callback: called once it is handed over, never before, in order', async t => {
  // Through a slow stream: a piece's buffer (a ring slot in a restore) is reused only after the
  // stream has taken its bytes; changing it then must not change the output.
  const { out, got } = collector()
  const sink = new OutputSink(out, 64 * 1024)
  const ps = pieces(200)
  const expected = Buffer.concat(ps)
  const done: number[] = []
  for (const [i, p] of ps.entries()) {
    await sink.write(p, () => {
      t.ok(got.includes(p) || t.fail(`piece ${i} given back before the stream took it`))
      done.push(i)
      p.fill(0xee) // reused at once
    })
  }
  await sink.end()
  t.same(done, ps.map((_, i) => i), 'every callback, once, in order')
  t.ok(Buffer.concat(got.map(b => Buffer.from(b))).length === expected.length)

  // Straight to a file's descriptor: called as soon as the vectored write returns.
  const dir = mkdtempSync(join(tmpdir(), 'tarshift-sink-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'out')
  const fd = openSync(path, 'w')
  const sink2 = new OutputSink(createWriteStream('', { fd, autoClose: false }), 64 * 1024)
  const qs = pieces(100)
  const want = Buffer.concat(qs)
  let called = 0
  for (const q of qs) await sink2.write(q, () => { called++; q.fill(0xee) })
  await sink2.write(Buffer.alloc(0), () => { called++ })
  await sink2.end()
  closeSync(fd)
  t.equal(called, qs.length + 1, 'every callback, an empty piece\'s too')
  t.ok(readFileSync(path).equals(want), 'the file has the bytes as they were when written')
})

t.test('a pipe: made to hold a batch (as far as the system allows), bytes through in order', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tarshift-sink-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const fifo = join(dir, 'fifo')
  execFileSync('mkfifo', [fifo])
  // Both ends in this process (O_RDWR on a FIFO does not wait for a peer, on Linux).
  const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK)
  t.teardown(() => closeSync(fd))
  const before = native.growPipe(fd, 0)
  t.equal(before, 64 * 1024, 'a new pipe holds 64 KiB')
  const max = Number(readFileSync('/proc/sys/fs/pipe-max-size', 'utf8'))
  const out = createWriteStream('', { fd, autoClose: false })
  const batch = 1 << 20
  const sink = new OutputSink(out, batch)
  t.equal(native.growPipe(fd, 0), Math.max(before, Math.min(batch, max)), 'the pipe holds a batch, or the most allowed')
  const bytes = Buffer.alloc(200 * 1024)
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 131) & 255
  await sink.write(bytes.subarray(0, 100))
  await sink.write(bytes.subarray(100))
  await sink.end()
  const got = Buffer.alloc(bytes.length)
  t.equal(readSync(fd, got), bytes.length, 'the whole batch sits in the pipe: none of it waited for a reader')
  t.ok(got.equals(bytes), 'the same bytes, in order')
})

t.test('growPipe: a descriptor that is not a pipe is an error number, not a throw', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tarshift-sink-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const fd = openSync(join(dir, 'f'), 'w')
  t.teardown(() => closeSync(fd))
  t.equal(native.growPipe(fd, 1 << 20), -osConstants.errno.EBADF)
})
