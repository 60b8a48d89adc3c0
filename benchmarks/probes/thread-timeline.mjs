// Preload (node --import): every 250 ms, the CPU each thread (by name: main, ts-walk, ts-reader,
// store workers "node" in order of creation...) used in that interval, as a fraction of one core,
// and the process's read and written bytes (/proc/self/io). Shows where a run leaves a core idle.
//   node --import ./benchmarks/probes/thread-timeline.mjs bin/tarshift save ... 2> timeline.txt
import { readdirSync, readFileSync } from 'node:fs'
import { isMainThread } from 'node:worker_threads'
if (isMainThread) {
  const tick = 100 // USER_HZ
  const prev = new Map()
  let prevIo = null
  const t0 = Date.now()
  let last = t0
  const lines = []
  const io = () => {
    const m = Object.fromEntries(readFileSync('/proc/self/io', 'latin1').trim().split('\n').map(l => l.split(': ')).map(([k, v]) => [k, Number(v)]))
    return { r: m.read_bytes ?? 0, w: m.write_bytes ?? 0 }
  }
  const sample = () => {
    const now = Date.now()
    const dt = (now - last) / 1000
    last = now
    const cols = []
    let total = 0
    for (const t of readdirSync('/proc/self/task')) {
      try {
        const name = Number(t) === process.pid ? 'main' : readFileSync(`/proc/self/task/${t}/comm`, 'latin1').trim()
        const f = readFileSync(`/proc/self/task/${t}/stat`, 'latin1')
        const rest = f.slice(f.lastIndexOf(')') + 2).split(' ')
        const cpu = (Number(rest[11]) + Number(rest[12])) / tick
        const d = cpu - (prev.get(t) ?? 0)
        prev.set(t, cpu)
        total += d
        if (d / dt >= 0.05) cols.push(`${name === 'node' ? 'n' + t.slice(-3) : name}=${(d / dt).toFixed(2)}`)
      } catch { /* ended */ }
    }
    const i = io()
    const rd = prevIo ? ((i.r - prevIo.r) / 1e6 / dt).toFixed(0) : '-'
    prevIo = i
    lines.push(`${((now - t0) / 1000).toFixed(2)}s total=${(total / dt).toFixed(2)} read=${rd}MB/s ${cols.join(' ')}`)
  }
  setInterval(sample, 250).unref()
  process.on('exit', () => { sample(); process.stderr.write(lines.join('\n') + '\n') })
}
