import Type, { type Static } from 'typebox'
import { extendsComponent } from '../../core/http/openapi.js'
import { OAuthErrorBody, Problem } from '../../core/schemas.js'
import { Password } from '../users/index.js'

/** A TOTP code as an authenticator shows it (RFC 6238, 6 digits). */
export const TotpCode = Type.String({ pattern: '^[0-9]{6}$', maxLength: 6, description: 'The 6-digit code of the authenticator app' })
/** A recovery code as printed (case, spaces and hyphens are ignored). */
export const RecoveryCode = Type.String({ minLength: 1, maxLength: 64, description: 'One of the recovery codes (case, spaces and hyphens ignored); each works once' })
/** Either kind, where a signed-in user confirms a change. */
const AnyCode = Type.String({ minLength: 1, maxLength: 64, description: 'A TOTP code or a recovery code' })

export const SetupBody = Type.Object({ current_password: Password }, { additionalProperties: false })
export const SetupView = Type.Object({
  secret: Type.String({ maxLength: 64, description: 'The TOTP secret, base32 (for typing in by hand); never shown again' }),
  otpauth_uri: Type.String({ format: 'uri', maxLength: 2048, description: 'otpauth://totp/<issuer>:<email>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30 (draw it as a QR code)' }),
  expires_in: Type.Integer({ format: 'int32', minimum: 0, maximum: 3600, description: 'Seconds the pending set-up waits for its activation code' })
})
export const ActivateBody = Type.Object({ code: TotpCode }, { additionalProperties: false })
export const RecoveryCodesView = Type.Object({
  recovery_codes: Type.Array(Type.String({ maxLength: 64 }), { minItems: 10, maxItems: 10, description: 'Shown only once; each works once' })
})
export const ConfirmBody = Type.Object({ current_password: Password, code: AnyCode }, { additionalProperties: false })
export type ConfirmBody = Static<typeof ConfirmBody>

/** POST /v1/auth/mfa/verify: the mfa_token and exactly one of code or recovery_code. */
export const VerifyBody = Type.Object({
  mfa_token: Type.String({ minLength: 1, maxLength: 512 }),
  code: Type.Optional(TotpCode),
  recovery_code: Type.Optional(RecoveryCode)
}, { additionalProperties: false, description: 'The mfa_token of the login and exactly one of code or recovery_code' })
export type VerifyBody = Static<typeof VerifyBody>

const challengeMembers = {
  mfa_token: Type.Optional(Type.String({ maxLength: 512, description: 'Opaque; single use, valid 300 s, dead after 5 wrong codes' })),
  expires_in: Type.Optional(Type.Integer({ format: 'int32', minimum: 0, maximum: 3600, description: 'Seconds the mfa_token lives (300)' })),
  methods: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 2, description: '["totp", "recovery_code"]' }))
}
/** A 403 of login: problem+json, with the challenge's members when the code is `mfa_required`. */
export const MfaRequiredProblem = extendsComponent(Type.Object({ ...Problem.properties, ...challengeMembers }, { additionalProperties: true, description: 'RFC 9457 problem; `mfa_required` adds mfa_token, expires_in and methods' }), 'Problem')
/** The token endpoint's 403: RFC 6749 members plus the challenge's. */
export const MfaRequiredOAuth = extendsComponent(Type.Object({ ...OAuthErrorBody.properties, ...challengeMembers }, { additionalProperties: true, description: '`mfa_required`: finish with grant_type=urn:taskflow:params:oauth:grant-type:mfa-otp' }), 'OAuthError')

/** This module's shapes in the OpenAPI document (`#/components/schemas/<name>`). */
export const mfaComponents = { MfaRequiredProblem, MfaRequiredOAuth, RecoveryCodes: RecoveryCodesView }
