// Creates an embedded database directory (PGlite's initdb) and exits. createDb (db.ts) runs it in a
// process of its own on a first start: initdb boots a second, in-memory PostgreSQL and copies the
// new directory through a tar archive, ~700 MB at its peak, and the C heap keeps what that freed, so
// the server that ran it stayed ~120 MB larger for its whole life (docs/benchmarks.md, Memory).
// Plain JavaScript so that node runs it without the TypeScript loader.
// argv: <dataDir> <JSON array of PGlite start parameters>
import { PGlite } from '@electric-sql/pglite'

const [dataDir, startParams] = process.argv.slice(2)
const db = await PGlite.create({ dataDir, startParams: JSON.parse(startParams ?? '[]') })
await db.close()
