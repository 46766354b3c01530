/**
 * Which storage this test process runs against. scripts/test.mjs runs the whole suite twice:
 * embedded (PGlite + in-process cache) and, when DATABASE_URL/REDIS_URL are set, on PostgreSQL and
 * Redis. There every test process makes a database and a Redis key prefix of its own (under the
 * run's names, which the runner removes at the end), so global rules such as "the last active
 * admin" are tested without other files' data.
 */
export const testEnv = {
  /** A PostgreSQL URL to create and drop databases with; set on the services run. */
  adminDatabaseUrl: process.env.TEST_ADMIN_DATABASE_URL || undefined,
  databasePrefix: process.env.TEST_DATABASE_PREFIX || 'taskflow_test',
  redisUrl: process.env.TEST_REDIS_URL || undefined,
  redisPrefix: `${process.env.TEST_REDIS_PREFIX || 'tft:'}${process.pid}:`,
  pgliteSnapshot: process.env.TEST_PGLITE_SNAPSHOT || undefined
}
export const servicesRun = testEnv.adminDatabaseUrl !== undefined
export const storageLabel = servicesRun ? 'postgres+redis' : 'embedded'
