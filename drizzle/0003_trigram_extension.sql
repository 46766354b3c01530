-- Trigram matching for the task search (q): pg_trgm is a trusted extension, so a database owner can create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
