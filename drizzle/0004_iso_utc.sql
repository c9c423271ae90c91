-- The API's timestamp format (ISO 8601 in UTC with milliseconds and Z, e.g.
-- 2026-12-01T09:00:00.000Z) for representations built as JSON inside PostgreSQL.
CREATE FUNCTION "iso_utc"(ts timestamptz) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE RETURN
	to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
