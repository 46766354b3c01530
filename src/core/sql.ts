/** An ILIKE pattern for a substring search in which `%`, `_` and `\` are literal characters. */
export const likePattern = (q: string): string => `%${q.replace(/[\\%_]/g, '\\$&')}%`
