import { and, asc, eq, lt } from 'drizzle-orm'
import type { Db } from '../../core/db.js'
import {
  oauthCodesTable, oauthFlowsTable, userIdentitiesTable,
  type IdentityRow, type OAuthCodeRow, type OAuthFlowRow, type ProviderName
} from './identities.table.js'

/** SQL for identities, flows and one-time codes; every function takes the executor (the db or a transaction). */
export const identitiesRepository = {
  /** Stores a flow, first dropping flows that expired before `now` (bounded by the expiry index). */
  async insertFlow (db: Db, row: OAuthFlowRow, now: Date): Promise<void> {
    await db.delete(oauthFlowsTable).where(lt(oauthFlowsTable.expires_at, now))
    await db.insert(oauthFlowsTable).values(row)
  },

  /** Takes the flow out in one statement (single use even when two callbacks race); undefined when there is none. */
  async consumeFlow (db: Db, stateHash: string, provider: ProviderName): Promise<OAuthFlowRow | undefined> {
    const [row] = await db.delete(oauthFlowsTable)
      .where(and(eq(oauthFlowsTable.state_hash, stateHash), eq(oauthFlowsTable.provider, provider))).returning()
    return row
  },

  async insertCode (db: Db, row: OAuthCodeRow, now: Date): Promise<void> {
    await db.delete(oauthCodesTable).where(lt(oauthCodesTable.expires_at, now))
    await db.insert(oauthCodesTable).values(row)
  },

  /** Takes the code out in one statement: whatever happens next, it is spent. */
  async consumeCode (db: Db, codeHash: string): Promise<OAuthCodeRow | undefined> {
    const [row] = await db.delete(oauthCodesTable).where(eq(oauthCodesTable.code_hash, codeHash)).returning()
    return row
  },

  async findIdentity (db: Db, provider: ProviderName, subject: string): Promise<IdentityRow | undefined> {
    const [row] = await db.select().from(userIdentitiesTable)
      .where(and(eq(userIdentitiesTable.provider, provider), eq(userIdentitiesTable.provider_user_id, subject))).limit(1)
    return row
  },

  /** Inserts an identity; throws the driver's unique violation (23505) when (provider, subject) is taken. */
  async insertIdentity (db: Db, row: IdentityRow): Promise<IdentityRow> {
    const [inserted] = await db.insert(userIdentitiesTable).values(row).returning()
    if (!inserted) throw new Error('insert returned no row')
    return inserted
  },

  listForUser (db: Db, userId: string): Promise<IdentityRow[]> {
    return db.select().from(userIdentitiesTable).where(eq(userIdentitiesTable.user_id, userId)).orderBy(asc(userIdentitiesTable.created_at), asc(userIdentitiesTable.id))
  },

  /** The user's identities, locked (FOR UPDATE) until `tx` ends: serialises "is this the last credential?" checks. */
  lockForUser (tx: Db, userId: string): Promise<IdentityRow[]> {
    return tx.select().from(userIdentitiesTable).where(eq(userIdentitiesTable.user_id, userId)).for('update')
  },

  async deleteIdentity (tx: Db, id: string, userId: string): Promise<boolean> {
    const rows = await tx.delete(userIdentitiesTable).where(and(eq(userIdentitiesTable.id, id), eq(userIdentitiesTable.user_id, userId))).returning({ id: userIdentitiesTable.id })
    return rows.length > 0
  }
}
