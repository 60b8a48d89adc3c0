// Chunker throughput: FastCDC alone, and chunking + SHA-256 (the CPU work a save does per
// byte before compression), over 512 MiB of random data, median of 3 runs, one table row per
// measurement. Run: npx tsc -p . && node dist/benchmarks/chunker.js [MiB]
// MB/s here are 10^6 bytes per second. Random data is the chunker's worst case only in that
// no long runs end early at max; its speed barely depends on content.
import { createHash, randomFillSync } from 'node:crypto'
import { chunkBuffer, DEFAULT_CHUNKER, FastCdc } from '../lib/chunker/fastcdc.js'
import { StreamChunker } from '../lib/chunker/stream-chunker.js'

const MiB = 1024 * 1024
const size = Number(process.argv[2] ?? 512) * MiB
const RUNS = 3

const data = Buffer.allocUnsafeSlow(size)
for (let at = 0; at < size; at += 64 * MiB) randomFillSync(data, at, Math.min(64 * MiB, size - at))

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] as number
}

function measure(label: string, fn: () => number): void {
  fn() // warm up the JIT
  const rates: number[] = []
  let chunks = 0
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint()
    chunks = fn()
    const s = Number(process.hrtime.bigint() - t0) / 1e9
    rates.push(size / s / 1e6)
  }
  const mb = (x: number) => x.toFixed(0).padStart(5)
  const range = `${Math.min(...rates).toFixed(0)}–${Math.max(...rates).toFixed(0)}`
  console.log(`| ${label.padEnd(44)} | ${(size / MiB).toFixed(0)} MiB | ${mb(median(rates))} MB/s | ${range.padStart(11)} | ${String(chunks).padStart(6)} |`)
}

function sha(buf: Uint8Array): Buffer {
  return createHash('sha256').update(buf).digest()
}

console.log(`# chunker benchmark: Node ${process.version}, default parameters (min ${DEFAULT_CHUNKER.min / 1024} KiB, avg ${DEFAULT_CHUNKER.avg / MiB} MiB, max ${DEFAULT_CHUNKER.max / MiB} MiB), median of ${RUNS}`)
console.log('| measurement                                  | data    | median     | range MB/s  | pieces |')
console.log('|----------------------------------------------|---------|------------|-------------|--------|')

measure('FastCDC alone (chunkBuffer)', () => chunkBuffer(data, DEFAULT_CHUNKER).length)

measure('FastCDC + SHA-256 per chunk', () => {
  const cdc = new FastCdc(DEFAULT_CHUNKER)
  let n = 0
  for (let at = 0; at < size; n++) {
    const len = cdc.nextCut(data, at, size, true)
    sha(data.subarray(at, at + len))
    at += len
  }
  return n
})

measure('SHA-256 alone (node:crypto, 2 MiB pieces)', () => {
  let n = 0
  for (let at = 0; at < size; at += 2 * MiB, n++) sha(data.subarray(at, at + 2 * MiB))
  return n
})

function streamed(hash: boolean): number {
  const sc = new StreamChunker(DEFAULT_CHUNKER)
  let n = 0
  for (let at = 0; at < size; at += MiB) {
    for (const c of sc.push(data.subarray(at, at + MiB))) {
      if (hash) sha(c)
      n++
    }
  }
  const last = sc.finish()
  if (last) {
    if (hash) sha(last)
    n++
  }
  return n
}

measure('StreamChunker, 1 MiB pushes (copies chunks)', () => streamed(false))
measure('StreamChunker, 1 MiB pushes + SHA-256', () => streamed(true))
