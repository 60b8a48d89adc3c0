import type { Command } from './main.js'
import { UsageError } from '../errors.js'
const command: Command = { summary: 'tarshift diff', usage: 'not yet built\n', async run() { throw new UsageError('diff is not built yet') } }
export default command
