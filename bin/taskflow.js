#!/usr/bin/env node
// The `taskflow` command. In a checkout it runs the TypeScript sources through tsx (a devDependency),
// so a fresh clone runs after `npm install` with no build step. Where tsx is not installed (a
// production install, `npm ci --omit=dev`) it runs the compiled build, dist/cli.js (`npm run build`);
// `npm run start:prod` and the Docker image run dist/cli.js directly and need no TypeScript loader.
import { existsSync } from 'node:fs'

let register
try {
  ({ register } = await import('tsx/esm/api'))
} catch {
  register = undefined
}
const dist = new URL('../dist/cli.js', import.meta.url)
if (register) {
  register()
  await import('../src/cli.ts')
} else if (existsSync(dist)) {
  await import(dist.href)
} else {
  process.stderr.write('taskflow: no TypeScript loader (tsx) and no build (dist/): run `npm install`, or `npm run build`\n')
  process.exit(1)
}
