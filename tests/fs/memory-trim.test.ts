// malloc_trim through the native addon, and the timer that calls it during a save.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { native } from '../../lib/fs/native.js'
import { BUFFERS_COLLECT_AT, trimMemoryEvery } from '../../lib/fs/memory-trim.js'

t.test('mallocTrim releases freed heap pages (glibc)', async t => {
  // In a child with gc exposed: fill and free many blocks below the mmap threshold (they stay
  // in the arena), collect them, then trim: something must have been handed back.
  const addon = fileURLToPath(new URL('../../../build/Release/tarshift_fs.node', import.meta.url))
  const script = `const n = require(${JSON.stringify(addon)}); n.mallocTrim()
    let keep = []; for (let i = 0; i < 8000; i++) keep.push(Buffer.allocUnsafeSlow(16384).fill(i & 255))
    keep = null; gc(); gc(); process.stdout.write(String(n.mallocTrim()))`
  const r = spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, '--expose-gc', '-e', script], { encoding: 'utf8' })
  t.equal(r.stderr, '')
  t.equal(r.stdout, 'true', 'freed pages were released')
  t.equal(typeof native.mallocTrim(), 'boolean')
})

t.test('trimMemoryEvery runs until stopped and never keeps the process alive', async t => {
  const stop = trimMemoryEvery(5)
  await new Promise(r => setTimeout(r, 30))
  stop()
  t.pass('stopped')
})

t.test('mallocMmapThreshold: freed large buffers leave at once (glibc)', async t => {
  // One 4 MiB block freed raises glibc's dynamic threshold; then 100 MiB in 512 KiB buffers,
  // small blocks kept after them (filling holes, so the arena cannot shrink), all freed.
  // With the threshold fixed, each buffer had its own mapping and is gone: resident memory
  // falls by all of it. With glibc's default, part of it stays resident until a trim.
  const addon = fileURLToPath(new URL('../../../build/Release/tarshift_fs.node', import.meta.url))
  const run = (fixed: boolean): number => {
    const script = `const n = require(${JSON.stringify(addon)}); ${fixed ? 'n.mallocMmapThreshold(256 * 1024)' : ''}
      let one = Buffer.allocUnsafeSlow(4 << 20).fill(1); one = null; gc(); gc()
      setTimeout(() => {
        let keep = []; for (let i = 0; i < 200; i++) keep.push(Buffer.allocUnsafeSlow(512 << 10).fill(i & 255))
        const pin = []; for (let i = 0; i < 2000; i++) pin.push(Buffer.allocUnsafeSlow(1024).fill(7))
        const high = process.memoryUsage().rss
        keep = null; gc(); gc()
        setTimeout(() => process.stdout.write(String((high - process.memoryUsage().rss) / 1048576) + ' ' + pin.length), 100)
      }, 100)`
    const r = spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, '--expose-gc', '-e', script], { encoding: 'utf8' })
    t.equal(r.stderr, '')
    return Number(r.stdout.split(' ')[0])
  }
  const fixed = run(true)
  const dynamic = run(false)
  t.ok(fixed > 90, `with the threshold fixed, all ~100 MiB left at once (${fixed.toFixed(0)} MiB)`)
  t.ok(dynamic < fixed - 15, `with glibc's default, part of it stayed (${dynamic.toFixed(0)} MiB left)`)
  t.throws(() => native.mallocMmapThreshold(0), RangeError)
})

t.test('trimMemoryEvery collects dead buffers once they pass the limit', async t => {
  // In a child without V8's idle-time memory reducer (which may or may not collect them):
  // 96 MiB of buffers, dropped, stay counted for 300 ms; with the timer running, they go.
  const mod = fileURLToPath(new URL('../../lib/fs/memory-trim.js', import.meta.url))
  const script = `import { trimMemoryEvery } from ${JSON.stringify(mod)}
    const mib = () => Math.round(process.memoryUsage().arrayBuffers / 1048576)
    let keep = Array.from({ length: 48 }, (_, i) => Buffer.allocUnsafeSlow(2 << 20).fill(i))
    keep = null
    await new Promise(r => setTimeout(r, 300))
    const before = mib()
    const stop = trimMemoryEvery(10)
    await new Promise(r => setTimeout(r, 300))
    stop()
    process.stdout.write(before + ' ' + mib())`
  const r = spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, '--no-memory-reducer', '--input-type=module', '-e', script], { encoding: 'utf8' })
  t.equal(r.stderr, '')
  const [before, after] = r.stdout.split(' ').map(Number) as [number, number]
  t.ok(before > BUFFERS_COLLECT_AT / 1048576, `the dead buffers still count after 300 ms (${before} MiB)`)
  t.ok(after < BUFFERS_COLLECT_AT / 1048576, `with the timer, they are collected (${after} MiB left)`)
})

t.test("trimMemoryEvery(ms, 'arena'): large buffers that come and go reuse arena memory instead of faulting in fresh mappings", async t => {
  // A restore's pattern: 512 KiB buffers allocated, filled, dropped, 1,600 of them, 16
  // alive at a time. With a mapping each, every page of every buffer is a fresh page fault (at
  // least 1,600 x 128); from the arenas, freed memory is used again. (With 400 buffers the
  // process's own ~13,000 faults, V8's heap growing, came too near a quarter of the mapped
  // count: the test failed once in CI.)
  const mod = fileURLToPath(new URL('../../lib/fs/memory-trim.js', import.meta.url))
  const run = (mode: 'mapped' | 'arena'): number => {
    const script = `import { trimMemoryEvery } from ${JSON.stringify(mod)}
      const stop = trimMemoryEvery(60000, ${JSON.stringify(mode)})
      const gc = (await import('node:vm')).runInNewContext('gc')
      const live = []
      const before = process.resourceUsage().minorPageFault
      for (let i = 0; i < 1600; i++) {
        live.push(Buffer.allocUnsafeSlow(512 << 10).fill(i & 255))
        if (live.length > 16) live.shift()
        if (i % 8 === 7) gc()
      }
      stop()
      process.stdout.write(String(process.resourceUsage().minorPageFault - before))`
    const r = spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, '--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' })
    t.equal(r.stderr, '')
    return Number(r.stdout)
  }
  const mapped = run('mapped')
  const arena = run('arena')
  t.ok(mapped >= 1600 * 128, `a mapping each: every page faulted in (${mapped} faults)`)
  // Half, not a quarter: with the whole suite running beside it, the arena run once took 57,913
  // faults against 206,649 (usually well under a quarter).
  t.ok(arena < mapped / 2, `from the arenas: memory used again (${arena} faults against ${mapped})`)
})
