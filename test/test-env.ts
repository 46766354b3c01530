/**
 * Which storage this test process runs against. scripts/test.mjs runs the whole suite twice:
 * embedded (PGlite + in-process cache) and, when DATABASE_URL/REDIS_URL are set, on a database and
 * Redis key prefix of its own that it removes afterwards.
 */
export const testEnv = {
  databaseUrl: process.env.TEST_DATABASE_URL || undefined,
  redisUrl: process.env.TEST_REDIS_URL || undefined,
  redisPrefix: process.env.TEST_REDIS_PREFIX || `tft:${process.pid}:`,
  pgliteSnapshot: process.env.TEST_PGLITE_SNAPSHOT || undefined
}
export const storageLabel = testEnv.databaseUrl ? 'postgres+redis' : 'embedded'
