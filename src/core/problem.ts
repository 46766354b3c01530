import Type, { type Static } from 'typebox'

export const PROBLEM_BASE = 'https://taskflow.dev/problems/'

/** RFC 9457 problem details, as every error (but the token endpoint's) is written. */
export const Problem = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.Optional(Type.String()),
  instance: Type.Optional(Type.String()),
  code: Type.String(),
  errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() })))
}, { description: 'RFC 9457 problem details' })
export type Problem = Static<typeof Problem>

/** RFC 6749 §5.2 error body of the token endpoint. */
export const OAuthErrorBody = Type.Object({
  error: Type.String(),
  error_description: Type.String()
}, { description: 'RFC 6749 §5.2 error' })

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  422: 'Unprocessable Content',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable'
}

export function problemTitle (status: number): string {
  return TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Error')
}
