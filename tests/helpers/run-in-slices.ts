// Running a background process in short slices, stopped in between, so that a test can observe
// its state at a point in its run and keep it there: "while a save runs" without racing a fast
// machine. What the test sees between slices is exactly the state the process is frozen in.
import fs from 'node:fs'

function stateOf(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1')
    // pid (comm) STATE ...: comm may hold spaces and parentheses; the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
  } catch {
    return null
  }
}

function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig)
    return true
  } catch {
    return false
  }
}

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

/** SIGSTOP, and wait until every thread of `pid` has stopped. False if the process is gone (or a zombie). */
export async function stopProcess(pid: number): Promise<boolean> {
  if (!signal(pid, 'SIGSTOP')) return false
  for (;;) {
    const s = stateOf(pid)
    if (s === null || s === 'Z' || s === 'X') return false
    if (s === 'T' || s === 't') {
      // The group stop reaches the other threads too; wait for each of them.
      let all = true
      try {
        for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
          const ts = stateOf(Number(tid)) ?? 'T'
          if (ts !== 'T' && ts !== 't' && ts !== 'Z' && ts !== 'X') all = false
        }
      } catch {
        return false
      }
      if (all) return true
    }
    await sleep(1)
  }
}

/**
 * Lets `pid` run for `sliceMs` at a time, stopped between slices, until `seen()` returns a value
 * (other than undefined) while it is stopped: the process is then left stopped, in exactly the
 * state `seen` looked at (SIGCONT it to go on). Null if the process ends first or on timeout (it
 * is then left running).
 */
export async function runUntil<T>(pid: number, seen: () => T | undefined, timeoutMs: number, sliceMs = 20): Promise<T | null> {
  const end = performance.now() + timeoutMs
  for (;;) {
    if (!(await stopProcess(pid))) return null
    const v = seen()
    if (v !== undefined) return v
    signal(pid, 'SIGCONT')
    if (performance.now() > end) return null
    await sleep(sliceMs)
  }
}
