import { and, eq, gt, inArray, ne } from 'drizzle-orm'
import type { Clock } from '../../core/clock.js'
import type { Db } from '../../core/db.js'
import { newId } from '../../core/ids.js'
import { mailOutboxTable } from './outbox.table.js'
import type { MailData } from './templates.js'

export interface EnqueueInput {
  /** A NoticeEvent or a link template (password_reset_link, email_verification, email_change). */
  template: string
  /** The account the mail concerns; null for a reset request whose account is looked up when it is sent. */
  userId: string | null
  /** The address the mail goes to, lower-cased. */
  recipient: string
  /** Small, secret-free details the template names (never a token or password). */
  data?: MailData
}

/**
 * Writes mail into the outbox, always inside the caller's transaction (or as one statement), so a
 * mail exists exactly when the change that causes it commits. The sender is woken shortly after.
 */
export function createOutbox ({ clock, wake }: { clock: Clock, wake: () => void }) {
  return {
    async enqueue (tx: Db, input: EnqueueInput): Promise<string> {
      const now = clock.now()
      const id = newId()
      await tx.insert(mailOutboxTable).values({
        id,
        template: input.template,
        user_id: input.userId,
        recipient: input.recipient.toLowerCase(),
        data: input.data ?? {},
        status: 'pending',
        attempts: 0,
        next_attempt_at: now,
        created_at: now
      })
      // The caller's transaction commits after this returns: the wake-up comes a moment later, and the
      // poll picks up anything it misses.
      setTimeout(wake, 25).unref()
      return id
    },

    /**
     * When the account was sent (or is about to be sent) mails of `template` since `since`, oldest
     * first, not counting `exceptId`: the basis of per-account mail caps. Skipped, failed and cancelled
     * mails do not count.
     */
    async recentTimes (tx: Db, userId: string, template: string, since: Date, exceptId?: string): Promise<Date[]> {
      const t = mailOutboxTable
      const rows = await tx.select({ at: t.created_at }).from(t).where(and(
        eq(t.user_id, userId), eq(t.template, template), gt(t.created_at, since), inArray(t.status, ['pending', 'sent']),
        exceptId ? ne(t.id, exceptId) : undefined
      )).orderBy(t.created_at)
      return rows.map(r => r.at)
    },

    /** Records which account a mail request turned out to be for (a forgot-password request, once resolved). */
    async assignUser (tx: Db, id: string, userId: string): Promise<void> {
      await tx.update(mailOutboxTable).set({ user_id: userId }).where(eq(mailOutboxTable.id, id))
    },

    /** Withdraws a user's unsent mails of one template (e.g. reset links, once the password changed). */
    async cancelPending (tx: Db, userId: string, template: string): Promise<number> {
      const rows = await tx.update(mailOutboxTable).set({ status: 'cancelled', last_error: 'superseded' })
        .where(and(eq(mailOutboxTable.user_id, userId), eq(mailOutboxTable.template, template), eq(mailOutboxTable.status, 'pending')))
        .returning({ id: mailOutboxTable.id })
      return rows.length
    }
  }
}
export type Outbox = ReturnType<typeof createOutbox>
