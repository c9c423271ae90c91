-- On a fall-back night a schedule time in the repeated hour (01:30 in New York) names two
-- instants, and `timestamp AT TIME ZONE` always picks the later. Ranges now open at the first and
-- close at the last occurrence, so a space is open whenever its wall clock reads inside a range —
-- the same rule as withinOperatingHours() (luxon's getPossibleOffsets); a test checks they agree.
CREATE OR REPLACE FUNCTION "space_local_instant"(local_ts timestamp, tz text, first_occurrence boolean)
RETURNS timestamptz LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
	later timestamptz := local_ts AT TIME ZONE tz;
	offset_before interval;
	earlier timestamptz;
BEGIN
	IF NOT first_occurrence THEN
		RETURN later;
	END IF;
	-- The same wall time read with the UTC offset in force a few hours before: if that instant
	-- also shows local_ts, the time happened twice and this is its first occurrence.
	offset_before := ((later - interval '6 hours') AT TIME ZONE tz) - ((later - interval '6 hours') AT TIME ZONE 'UTC');
	earlier := (local_ts - offset_before) AT TIME ZONE 'UTC';
	IF earlier < later AND (earlier AT TIME ZONE tz) = local_ts THEN
		RETURN earlier;
	END IF;
	RETURN later;
END;
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "space_open_during"(hours jsonb, tz text, from_ts timestamptz, to_ts timestamptz)
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
			open_at := space_local_instant(local_day + (range ->> 0)::time, tz, true);
			close_at := space_local_instant(local_day + (range ->> 1)::time, tz, false);
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
