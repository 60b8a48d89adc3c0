// Child process for worker-pool.test.ts: opens and closes an object store N times at once,
// the way a command that refuses its input right after opening the savedir does.
// argv: savedir count
import { ObjectStore } from '../../lib/repo/object-store.js'
import { readConfig } from '../../lib/repo/config.js'

const [savedir, countS] = process.argv.slice(2)
const config = readConfig(savedir as string)
for (let i = 0; i < Number(countS); i++) {
  const store = new ObjectStore(savedir as string, config, { workers: 2 })
  // Sweep the close over the workers' start-up, when they load their native modules.
  await new Promise(r => setTimeout(r, i % 60))
  await store.close()
}
process.stdout.write('closed\n')
