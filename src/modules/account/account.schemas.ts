import Type, { type Static } from 'typebox'
import { Email, Password } from '../users/index.js'

/** The token of a link in a mail (the part after `#token=`); its shape is checked by the service. */
export const MailToken = Type.String({ minLength: 1, maxLength: 512, description: 'The token from the link in the mail (after #token=)' })

export const ForgotBody = Type.Object({ email: Email }, { additionalProperties: false })
export type ForgotBody = Static<typeof ForgotBody>

export const ResetBody = Type.Object({ token: MailToken, new_password: Password }, { additionalProperties: false })
export type ResetBody = Static<typeof ResetBody>

export const VerifyBody = Type.Object({ token: MailToken }, { additionalProperties: false })
export type VerifyBody = Static<typeof VerifyBody>

export const ChangeEmailBody = Type.Object({ new_email: Email, current_password: Password }, { additionalProperties: false })
export type ChangeEmailBody = Static<typeof ChangeEmailBody>

/** The body of every 202 of these flows: the same whatever the outcome behind it. */
export const Accepted = Type.Object({ message: Type.String({ maxLength: 200 }) }, { description: 'The request was accepted; a mail may follow' })

export const FORGOT_ACCEPTED = { message: 'If an account has this email address, a link to reset its password is on its way.' }

/** This module's shapes in the OpenAPI document (`#/components/schemas/<name>`). */
export const accountComponents = { Accepted }
