import type { Db } from '../../core/db.js'
import type { Outbox } from './outbox.js'
import type { NoticeEvent } from './templates.js'

export type { NoticeEvent } from './templates.js'

/** Queues a notice mail to the account's current address, in the caller's transaction. */
export interface Notifier {
  notify: (tx: Db, userId: string, event: NoticeEvent, data?: Record<string, string | number>) => Promise<void>
}

/**
 * The one entry point for security notices (API.md "Notices"). The address is read in the caller's
 * transaction, so a notice about an email change goes to the old address. An account that no longer
 * exists gets nothing.
 */
export function createNotifier ({ outbox, findEmail }: { outbox: Outbox, findEmail: (tx: Db, userId: string) => Promise<string | undefined> }): Notifier {
  return {
    async notify (tx, userId, event, data) {
      const email = await findEmail(tx, userId)
      if (email === undefined) return
      await outbox.enqueue(tx, { template: event, userId, recipient: email, ...(data ? { data } : {}) })
    }
  }
}
