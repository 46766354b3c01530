import Type from 'typebox'

/** Routes that need an access token: a Bearer header, obtainable through the OAuth2 password flow. */
export const bearerSecurity: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { oauth2: [] }]

/** An RFC 3339 timestamp on the wire; services hand the serializer Date objects. */
export const Timestamp = Type.Unsafe<Date | string>({ type: 'string', format: 'date-time' })

export const NoContent = { type: 'null', description: 'No content' } as const
