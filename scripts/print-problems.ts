// Writes docs/problems.md from the error catalogue (src/core/errors.ts): `npm run docs:problems`.
import { writeFileSync } from 'node:fs'
import { renderProblemsDoc } from '../src/core/errors-doc.js'

writeFileSync(new URL('../docs/problems.md', import.meta.url), renderProblemsDoc())
