import type { Command } from './main.js'
import { parse, savedirFrom } from './options.js'
import { readConfig } from '../repo/config.js'
import { removeLocks } from '../repo/lock.js'

const command: Command = {
  summary: 'tarshift unlock: remove stale locks (or all with --force)',
  usage: `usage: tarshift unlock [-r SAVEDIR] [--force]

A lock is stale when not refreshed for 30 minutes, or when its process is gone on this host.
--force removes every lock: only when you know no tarshift is running on any host.
`,
  async run(argv) {
    const { values } = parse(argv, { force: { type: 'boolean' } })
    const savedir = savedirFrom(values)
    readConfig(savedir)
    const removed = removeLocks(savedir, values.force === true)
    for (const l of removed) process.stderr.write(`removed ${l.kind} lock of ${l.operation} by pid ${l.pid} on ${l.host} (since ${l.start})\n`)
    process.stderr.write(`${removed.length} lock(s) removed\n`)
    return 0
  },
}
export default command
