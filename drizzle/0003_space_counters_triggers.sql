-- Keeps space_counters exact with statement-level triggers, so the unfiltered catalogue (the
-- home page) reports its total without counting thousands of rows on every request.
-- See docs/decisions/0007-space-counters.md.
INSERT INTO "space_counters" ("id", "live", "available")
SELECT 1, count(*) FILTER (WHERE "archived_at" IS NULL), count(*) FILTER (WHERE "archived_at" IS NULL AND "is_available")
FROM "spaces";
--> statement-breakpoint
CREATE FUNCTION "space_counters_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	live_delta integer := 0;
	available_delta integer := 0;
BEGIN
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		SELECT live_delta + count(*) FILTER (WHERE "archived_at" IS NULL), available_delta + count(*) FILTER (WHERE "archived_at" IS NULL AND "is_available")
		INTO live_delta, available_delta FROM new_rows;
	END IF;
	IF TG_OP IN ('DELETE', 'UPDATE') THEN
		SELECT live_delta - count(*) FILTER (WHERE "archived_at" IS NULL), available_delta - count(*) FILTER (WHERE "archived_at" IS NULL AND "is_available")
		INTO live_delta, available_delta FROM old_rows;
	END IF;
	-- Edits that change neither state leave the counter row (and its lock) alone.
	IF live_delta <> 0 OR available_delta <> 0 THEN
		UPDATE "space_counters" SET "live" = "live" + live_delta, "available" = "available" + available_delta WHERE "id" = 1;
	END IF;
	RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE FUNCTION "space_counters_reset"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE "space_counters" SET "live" = 0, "available" = 0 WHERE "id" = 1;
	RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "spaces_count_insert" AFTER INSERT ON "spaces" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "space_counters_apply"();
--> statement-breakpoint
CREATE TRIGGER "spaces_count_update" AFTER UPDATE ON "spaces" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "space_counters_apply"();
--> statement-breakpoint
CREATE TRIGGER "spaces_count_delete" AFTER DELETE ON "spaces" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "space_counters_apply"();
--> statement-breakpoint
CREATE TRIGGER "spaces_count_truncate" AFTER TRUNCATE ON "spaces" FOR EACH STATEMENT EXECUTE FUNCTION "space_counters_reset"();
