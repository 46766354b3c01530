// Every table, for drizzle-kit and for the typed database handle.
export * from './modules/users/users.table.js'
export * from './modules/auth/sessions.table.js'
export * from './modules/auth/signing-keys.table.js'
export * from './modules/tasks/tasks.table.js'
export * from './modules/audit/audit.table.js'
export * from './core/encryption.table.js'
export * from './modules/mfa/mfa.table.js'
export * from './modules/identities/identities.table.js'
