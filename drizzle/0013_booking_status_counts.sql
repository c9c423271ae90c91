CREATE TABLE "booking_status_counts" (
	"shard" smallint PRIMARY KEY NOT NULL,
	"pending" integer DEFAULT 0 NOT NULL,
	"confirmed" integer DEFAULT 0 NOT NULL,
	"cancelled" integer DEFAULT 0 NOT NULL,
	"completed" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
-- Keeps booking_status_counts equal to the bookings by status, in the transaction of every change
-- to bookings, whoever writes them (the API, the sweeps, the seed), so the admin stats read a few
-- rows instead of counting every booking. A statement's transition tables give the change per
-- status; statements that change no status (payment state, versions) touch nothing. Each
-- transaction adds its change to one row picked by its transaction id, so concurrent bookings
-- spread over 64 rows instead of queueing on one; a row's figures may go below zero (a booking
-- counted in one row, cancelled from another), only the sums mean anything.
-- See docs/decisions/0016-booking-status-counts.md.
INSERT INTO "booking_status_counts" ("shard", "pending", "confirmed", "cancelled", "completed")
SELECT 0, count(*) FILTER (WHERE "status" = 'pending'), count(*) FILTER (WHERE "status" = 'confirmed'),
	count(*) FILTER (WHERE "status" = 'cancelled'), count(*) FILTER (WHERE "status" = 'completed')
FROM "bookings";
--> statement-breakpoint
CREATE FUNCTION "booking_status_counts_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	pending_delta integer := 0;
	confirmed_delta integer := 0;
	cancelled_delta integer := 0;
	completed_delta integer := 0;
BEGIN
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		SELECT count(*) FILTER (WHERE "status" = 'pending'), count(*) FILTER (WHERE "status" = 'confirmed'),
			count(*) FILTER (WHERE "status" = 'cancelled'), count(*) FILTER (WHERE "status" = 'completed')
		INTO pending_delta, confirmed_delta, cancelled_delta, completed_delta FROM new_rows;
	END IF;
	IF TG_OP IN ('DELETE', 'UPDATE') THEN
		SELECT pending_delta - count(*) FILTER (WHERE "status" = 'pending'), confirmed_delta - count(*) FILTER (WHERE "status" = 'confirmed'),
			cancelled_delta - count(*) FILTER (WHERE "status" = 'cancelled'), completed_delta - count(*) FILTER (WHERE "status" = 'completed')
		INTO pending_delta, confirmed_delta, cancelled_delta, completed_delta FROM old_rows;
	END IF;
	-- Edits that change no status leave every counter row (and its lock) alone.
	IF pending_delta <> 0 OR confirmed_delta <> 0 OR cancelled_delta <> 0 OR completed_delta <> 0 THEN
		-- One row per transaction, whatever its statements: two transactions meet only when their
		-- ids fall on the same row, and one never waits for itself across its own statements.
		INSERT INTO "booking_status_counts" AS c ("shard", "pending", "confirmed", "cancelled", "completed")
		VALUES ((txid_current() % 64)::smallint, pending_delta, confirmed_delta, cancelled_delta, completed_delta)
		ON CONFLICT ("shard") DO UPDATE SET
			"pending" = c."pending" + excluded."pending", "confirmed" = c."confirmed" + excluded."confirmed",
			"cancelled" = c."cancelled" + excluded."cancelled", "completed" = c."completed" + excluded."completed";
	END IF;
	RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE FUNCTION "booking_status_counts_reset"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM "booking_status_counts";
	RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "bookings_status_count_insert" AFTER INSERT ON "bookings" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "booking_status_counts_apply"();
--> statement-breakpoint
CREATE TRIGGER "bookings_status_count_update" AFTER UPDATE ON "bookings" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "booking_status_counts_apply"();
--> statement-breakpoint
CREATE TRIGGER "bookings_status_count_delete" AFTER DELETE ON "bookings" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "booking_status_counts_apply"();
--> statement-breakpoint
CREATE TRIGGER "bookings_status_count_truncate" AFTER TRUNCATE ON "bookings" FOR EACH STATEMENT EXECUTE FUNCTION "booking_status_counts_reset"();
