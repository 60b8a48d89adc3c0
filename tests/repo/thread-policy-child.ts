// Child process for the thread-policy tests (native-puts.test.ts): in a process of its own,
// puts objects or gets them, and prints the scheduling policy of its threads before and after
// as JSON: {before, after}, each {main: the JavaScript thread's policy, batch: how many threads
// are SCHED_BATCH}.
// argv: savedir put|get [hash...]
import { readdirSync, readFileSync } from 'node:fs'
import { NativeGets } from '../../lib/repo/native-gets.js'
import { NativePuts } from '../../lib/repo/native-puts.js'
import { ObjectKind } from '../../lib/codec/object-header.js'

const SCHED_BATCH = 3

function policies(): { main: number; batch: number } {
  let main = -1
  let batch = 0
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1')
    // Field 41 (policy); the fields after the command's closing parenthesis start at field 3.
    const policy = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[41 - 3])
    if (Number(tid) === process.pid) main = policy
    else if (policy === SCHED_BATCH) batch++
  }
  return { main, batch }
}

const [savedir, mode, ...hashes] = process.argv.slice(2) as [string, string, ...string[]]
const before = policies()
if (mode === 'put') {
  const puts = new NativePuts(savedir, 1, false, 86_400_000, 4)
  await Promise.all(Array.from({ length: 16 }, (_, i) => puts.put(Buffer.alloc(200_000, `object ${i}`), ObjectKind.Data)))
} else {
  const got = await new NativeGets(savedir).getMany(hashes)
  if (!got.every(r => r.ok)) throw new Error('a get failed')
}
process.stdout.write(JSON.stringify({ before, after: policies() }))
