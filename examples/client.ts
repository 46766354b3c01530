// A typed TaskFlow client: openapi-fetch with the types generated from /openapi.json
// (`npm run client:types`). Registers, logs in through the OAuth2 token endpoint, creates a task and
// reads it back. Run against a server: TASKFLOW_URL=http://127.0.0.1:3000 npx tsx examples/client.ts
import createClient from 'openapi-fetch'
import type { paths } from './taskflow-api.js'

export async function demo (baseUrl: string, email: string, password: string) {
  const client = createClient<paths>({ baseUrl })

  const registered = await client.POST('/v1/auth/register', { body: { email, password, name: 'Typed Client' } })
  if (registered.error) throw new Error(`register: ${registered.error.detail ?? registered.response.status}`)

  const login = await client.POST('/v1/auth/token', {
    body: { grant_type: 'password', username: email, password },
    bodySerializer: (body) => new URLSearchParams(body as Record<string, string>).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' }
  })
  if (login.error || !login.data) throw new Error(`token: ${login.response.status}`)
  const headers = { authorization: `Bearer ${login.data.access_token}` }

  const created = await client.POST('/v1/tasks', { headers, body: { title: 'Try the typed client', priority: 'high', tags: ['example'] } })
  if (created.error || !created.data) throw new Error(`create task: ${created.response.status}`)

  const read = await client.GET('/v1/tasks/{id}', { headers, params: { path: { id: created.data.id } } })
  if (read.error || !read.data) throw new Error(`read task: ${read.response.status}`)

  const me = await client.GET('/v1/users/me', { headers })
  return { user: me.data, task: read.data, etag: read.response.headers.get('etag') }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await demo(process.env.TASKFLOW_URL ?? 'http://127.0.0.1:3000', `typed-${Date.now()}@example.com`, 'typed client passphrase 8')
  console.log(JSON.stringify(result, null, 2))
}
