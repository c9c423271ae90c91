-- No double booking, ever: two pending or confirmed bookings of one space can never hold
-- overlapping slots. The database decides (SQLSTATE 23P01), so concurrent requests and several
-- server processes cannot both succeed. A slot is [start_time, blocked_until): the booking plus
-- the space's buffer after it. The constraint's GiST index also serves availability searches.
CREATE EXTENSION IF NOT EXISTS btree_gist;
--> statement-breakpoint
ALTER TABLE "bookings" ADD CONSTRAINT "bookings_no_overlap"
	EXCLUDE USING gist ("space_id" WITH =, tstzrange("start_time", "blocked_until", '[)') WITH &&)
	WHERE ("status" IN ('pending', 'confirmed'));
--> statement-breakpoint
-- Whether a space is open for the whole of [from_ts, to_ts), judged by the wall clock of its time
-- zone (daylight-saving changes included). The same rule as withinOperatingHours() in
-- src/modules/bookings/bookings.rules.ts; a test checks the two agree. A null schedule is always
-- open; a missing day is closed; a range may end at 24:00, and ranges that touch across midnight
-- join up.
CREATE FUNCTION "space_open_during"(hours jsonb, tz text, from_ts timestamptz, to_ts timestamptz)
RETURNS boolean LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
	cursor_ts timestamptz := from_ts;
	local_day timestamp;
	day_key text;
	range jsonb;
	open_at timestamptz;
	close_at timestamptz;
	advanced boolean;
BEGIN
	IF hours IS NULL THEN
		RETURN true;
	END IF;
	WHILE cursor_ts < to_ts LOOP
		local_day := date_trunc('day', cursor_ts AT TIME ZONE tz);
		day_key := (ARRAY['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])[extract(isodow FROM local_day)::int];
		advanced := false;
		FOR range IN SELECT value FROM jsonb_array_elements(coalesce(hours -> day_key, '[]'::jsonb)) LOOP
			open_at := (local_day + (range ->> 0)::time) AT TIME ZONE tz;
			close_at := (local_day + (range ->> 1)::time) AT TIME ZONE tz;
			IF cursor_ts >= open_at AND cursor_ts < close_at THEN
				cursor_ts := close_at;
				advanced := true;
				EXIT;
			END IF;
		END LOOP;
		IF NOT advanced THEN
			RETURN false;
		END IF;
	END LOOP;
	RETURN true;
END;
$$;
