-- Keeps spaces.rating_sum and spaces.rating_count equal to the sum and count of each space's
-- reviews, in the transaction of every change to reviews, whoever writes them (the API, the seed).
-- Statement-level triggers fold a multi-row statement into one update per space.
-- See docs/decisions/0012-review-ratings-by-trigger.md.
CREATE FUNCTION "space_ratings_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		UPDATE "spaces" SET "rating_sum" = "spaces"."rating_sum" + d.sum_delta, "rating_count" = "spaces"."rating_count" + d.count_delta
		FROM (SELECT "space_id", sum("rating")::int AS sum_delta, count(*)::int AS count_delta FROM new_rows GROUP BY "space_id") d
		WHERE "spaces"."id" = d."space_id";
	ELSIF TG_OP = 'DELETE' THEN
		UPDATE "spaces" SET "rating_sum" = "spaces"."rating_sum" - d.sum_delta, "rating_count" = "spaces"."rating_count" - d.count_delta
		FROM (SELECT "space_id", sum("rating")::int AS sum_delta, count(*)::int AS count_delta FROM old_rows GROUP BY "space_id") d
		WHERE "spaces"."id" = d."space_id";
	ELSE
		-- An edit of the comment alone leaves the space's row (and its lock) alone.
		UPDATE "spaces" SET "rating_sum" = "spaces"."rating_sum" + d.sum_delta, "rating_count" = "spaces"."rating_count" + d.count_delta
		FROM (
			SELECT "space_id", sum(r)::int AS sum_delta, sum(c)::int AS count_delta
			FROM (SELECT "space_id", "rating" AS r, 1 AS c FROM new_rows UNION ALL SELECT "space_id", -"rating", -1 FROM old_rows) changes
			GROUP BY "space_id"
			HAVING sum(r) <> 0 OR sum(c) <> 0
		) d
		WHERE "spaces"."id" = d."space_id";
	END IF;
	RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE FUNCTION "space_ratings_reset"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE "spaces" SET "rating_sum" = 0, "rating_count" = 0 WHERE "rating_count" <> 0 OR "rating_sum" <> 0;
	RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "reviews_rating_insert" AFTER INSERT ON "reviews" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "space_ratings_apply"();
--> statement-breakpoint
CREATE TRIGGER "reviews_rating_update" AFTER UPDATE ON "reviews" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "space_ratings_apply"();
--> statement-breakpoint
CREATE TRIGGER "reviews_rating_delete" AFTER DELETE ON "reviews" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "space_ratings_apply"();
--> statement-breakpoint
CREATE TRIGGER "reviews_rating_truncate" AFTER TRUNCATE ON "reviews" FOR EACH STATEMENT EXECUTE FUNCTION "space_ratings_reset"();
