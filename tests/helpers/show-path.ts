// Tests render paths exactly as the program does.
export { showPath } from '../../lib/restore/show-path.js'
