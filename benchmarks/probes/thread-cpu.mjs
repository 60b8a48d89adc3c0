// Preload (node --import): at exit, print the CPU time of the main thread and the sum over the
// other threads (from /proc/self/task/*/stat), so that A/B runs compare the main thread's
// work even when the machine's noise moves the wall time.
//   node --import ./benchmarks/probes/thread-cpu.mjs bin/tarshift restore ... > /dev/null
import { readdirSync, readFileSync } from 'node:fs'
import { isMainThread } from 'node:worker_threads'
if (isMainThread) {
  const tick = 100 // USER_HZ
  const cpu = tid => {
    const f = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1')
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ')
    return { user: Number(rest[11]) / tick, sys: Number(rest[12]) / tick }
  }
  // Threads that end before the process (store workers) are seen by sampling.
  const last = new Map()
  const sample = () => {
    for (const t of readdirSync('/proc/self/task')) {
      try {
        const name = readFileSync(`/proc/self/task/${t}/comm`, 'latin1').trim()
        last.set(t, { name, ...cpu(t) })
      } catch { /* the thread ended */ }
    }
  }
  setInterval(sample, 20).unref()
  process.on('exit', () => {
    sample()
    const byName = new Map()
    for (const [t, c] of last) {
      const k = Number(t) === process.pid ? 'main' : c.name
      const s = byName.get(k) ?? { n: 0, user: 0, sys: 0 }
      s.n++; s.user += c.user; s.sys += c.sys
      byName.set(k, s)
    }
    const each = [...last].filter(([t]) => Number(t) !== process.pid).sort((a, b) => Number(a[0]) - Number(b[0])).map(([, c]) => c.user + c.sys)
    process.stderr.write(`other threads in order of creation: ${each.map(x => x.toFixed(2)).join(' ')}\n`)
    const parts = [...byName].map(([k, s]) => `${k}${s.n > 1 ? ` x${s.n}` : ''} ${s.user.toFixed(2)}u+${s.sys.toFixed(2)}s`)
    process.stderr.write(`thread cpu: ${parts.join('; ')}\n`)
  })
}
