import { readFileSync } from 'node:fs'

/**
 * The service's name and version as package.json states them (read once at start). The same relative
 * path works from src/core (tsx) and dist/core (the production build): both sit two levels below it.
 */
function readPackage (): { name: string, version: string } {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
  const { name, version } = (pkg ?? {}) as { name?: unknown, version?: unknown }
  if (typeof name !== 'string' || typeof version !== 'string') throw new Error('package.json has no name or version')
  return { name, version }
}

export const PACKAGE = Object.freeze(readPackage())

/** The API's display name: the index at `GET /`, the OpenAPI `info.title` and the /docs page. */
export const API_NAME = 'TaskFlow API'
