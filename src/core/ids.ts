import { createHash, randomBytes } from 'node:crypto'
import { uuidv7 } from 'uuidv7'

/** Time-ordered UUIDv7 ids (good index locality); never a secret. */
export const newId = (): string => uuidv7()

/** 256 bits from the CSPRNG, base64url: refresh tokens and other bearer secrets. */
export const newSecret = (): string => randomBytes(32).toString('base64url')

/** SHA-256 of a UTF-8 string, base64url (43 characters): how bearer secrets are stored at rest. */
export const sha256 = (value: string): string => createHash('sha256').update(value).digest('base64url')
