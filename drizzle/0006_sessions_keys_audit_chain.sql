ALTER TABLE "sessions" ADD COLUMN "previous_hash" text;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "rotated_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "successor_sealed" text;--> statement-breakpoint
CREATE INDEX "sessions_previous_hash_idx" ON "sessions" ("previous_hash");--> statement-breakpoint
CREATE INDEX "sessions_ended_at_idx" ON "sessions" (least(coalesce("revoked_at", 'infinity'::timestamptz), "expires_at", "refresh_expires_at"));--> statement-breakpoint
ALTER TABLE "signing_keys" ADD COLUMN "signs_from" timestamp with time zone;--> statement-breakpoint
UPDATE "signing_keys" SET "signs_from" = "created_at";--> statement-breakpoint
ALTER TABLE "signing_keys" ALTER COLUMN "signs_from" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "signing_keys" ADD COLUMN "revoked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "seq" bigint;--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "hash" text;--> statement-breakpoint
CREATE INDEX "audit_events_seq_idx" ON "audit_events" ("seq");--> statement-breakpoint
CREATE INDEX "audit_events_unsealed_idx" ON "audit_events" ("created_at", "id") WHERE "seq" IS NULL;--> statement-breakpoint
CREATE TABLE "audit_chain" (
	"id" smallint PRIMARY KEY DEFAULT 1 NOT NULL,
	"seq" bigint NOT NULL,
	"hash" text NOT NULL,
	"anchor_seq" bigint NOT NULL,
	"anchor_hash" text NOT NULL,
	CONSTRAINT "audit_chain_single_row" CHECK ("id" = 1)
);--> statement-breakpoint
INSERT INTO "audit_chain" ("id", "seq", "hash", "anchor_seq", "anchor_hash") VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 0, '0000000000000000000000000000000000000000000000000000000000000000');
