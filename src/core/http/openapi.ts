/** Routes that need an access token: a Bearer header, obtainable through the OAuth2 password flow. */
export const bearerSecurity: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { oauth2: [] }]
