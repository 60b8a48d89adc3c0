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

const inFlight: Promise<unknown>[] = []
for (let i = 0; i < count; i++) {
  inFlight.push(store.put(objectBytes(i), ObjectKind.Data))
  if (inFlight.length >= 64) await Promise.all(inFlight.splice(0))
}
await Promise.all(inFlight)
if (flushS === '1') await store.flush()
process.stdout.write(JSON.stringify(store.stats) + '\n')
await store.close()
