import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'

/** Another live TaskFlow process holds the embedded database directory (PGlite allows one process). */
export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError'
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * PGlite does not stop a second process from opening the same directory (and corrupting it),
 * so every process that opens DATA_DIR first takes this exclusive lock file. A lock left by a
 * process that no longer runs is taken over.
 */
export function lockDataDir (dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true })
  const file = join(dataDir, 'taskflow.lock')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx')
      writeSync(fd, String(process.pid))
      closeSync(fd)
      let released = false
      return () => {
        if (released) return
        released = true
        rmSync(file, { force: true })
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const holder = Number(readFileSync(file, 'utf8').trim())
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new DataDirLockedError(`the embedded database in ${dataDir} is in use by another TaskFlow process (pid ${holder}); stop it first, or use DATABASE_URL`)
      }
      rmSync(file, { force: true })
    }
  }
  throw new DataDirLockedError(`could not lock ${dataDir}`)
}
