import { randomBytes } from 'node:crypto'
import { eq } from 'drizzle-orm'
import { customType, pgTable, text, timestamp } from 'drizzle-orm/pg-core'
import type { Db } from './db.js'

const bytea = customType<{ data: Buffer, driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (value) => Buffer.from(value)
})

/**
 * Random keys the server keeps for itself (e.g. `cursor`, the HMAC key of pagination cursors). They
 * live in the database so that every instance sharing it uses the same key; they never leave the server.
 */
export const serverSecretsTable = pgTable('server_secrets', {
  name: text('name').primaryKey(),
  secret: bytea('secret').notNull(),
  created_at: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow()
})

/**
 * The server's secret called `name` (32 bytes from the CSPRNG), created on first use. Instances that
 * start together agree on one: the insert does nothing when another instance's row is already there,
 * and everyone then reads the row that won.
 */
export async function loadServerSecret (db: Db, name: string): Promise<Buffer> {
  await db.insert(serverSecretsTable).values({ name, secret: randomBytes(32) }).onConflictDoNothing()
  const [row] = await db.select().from(serverSecretsTable).where(eq(serverSecretsTable.name, name))
  if (!row || row.secret.length < 32) throw new Error(`server secret ${name} is missing or too short`)
  return row.secret
}
