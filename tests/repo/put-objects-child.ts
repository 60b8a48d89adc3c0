// Child process for the object store tests: puts N deterministic objects into a savedir.
// argv: savedir count seed sizeBytes flush(0|1)
import { ObjectStore } from '../../lib/repo/object-store.js'
import { readConfig } from '../../lib/repo/config.js'
import { ObjectKind } from '../../lib/codec/object-header.js'
import { createHash, randomBytes } from 'node:crypto'

const [savedir, countS, seedS, sizeS, flushS] = process.argv.slice(2)
const count = Number(countS)
const size = Number(sizeS)
const store = new ObjectStore(savedir as string, readConfig(savedir as string), { workers: 2 })

function objectBytes(i: number): Buffer {
  // Incompressible content for the fault tests ("rnd" seeds), a compressible pattern otherwise.
  if (seedS?.startsWith('rnd')) return randomBytes(size)
  const head = createHash('sha256').update(`${seedS}:${i}`).digest()
  const b = Buffer.alloc(size)
  for (let off = 0; off < size; off += 32) head.copy(b, off, 0, Math.min(32, size - off))
  b.writeUInt32BE(i, 0)
  return b
}

// Like save, the writer never exits with a put still running: on the first failure it lets the
// others settle and closes the store (which waits for its workers) before it reports the error.
const inFlight: Promise<unknown>[] = []
let failure: unknown = null
const settle = async (): Promise<void> => {
  for (const r of await Promise.allSettled(inFlight.splice(0))) {
    if (r.status === 'rejected' && failure === null) failure = r.reason
  }
}
for (let i = 0; i < count && failure === null; i++) {
  inFlight.push(store.put(objectBytes(i), ObjectKind.Data))
  if (inFlight.length >= 64) await settle()
}
await settle()
if (failure === null && flushS === '1') await store.flush().catch(e => { failure = e })
await store.close()
if (failure !== null) {
  const e = failure as { code?: string; message?: string }
  process.stderr.write(`${e.code ?? 'ERROR'}: ${e.message ?? String(failure)}\n`)
  process.exit(2)
}
process.stdout.write(JSON.stringify(store.stats) + '\n')
