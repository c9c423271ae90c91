-- Keeps revenue_months equal to completed payments minus refunds per currency and month (of
-- completed_at, in Africa/Nairobi), in the transaction of every change to payments, so the admin
-- stats read a few counter rows instead of summing every payment. Statement-level triggers fold
-- a statement's rows into one upsert per month; statements that change no revenue (a query
-- attempt, a refund still in progress) touch nothing. See docs/decisions/0013-revenue-months.md.
INSERT INTO "revenue_months" ("currency", "month", "amount")
SELECT "currency", date_trunc('month', timezone('Africa/Nairobi', "completed_at"))::date, sum("amount" - "refunded_amount")
FROM "payments" WHERE "status" IN ('completed', 'refunded')
GROUP BY 1, 2;
--> statement-breakpoint
CREATE FUNCTION "revenue_months_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO "revenue_months" ("currency", "month", "amount")
		SELECT "currency", date_trunc('month', timezone('Africa/Nairobi', "completed_at"))::date AS month, sum("amount" - "refunded_amount")
		FROM new_rows WHERE "status" IN ('completed', 'refunded')
		GROUP BY 1, 2 HAVING sum("amount" - "refunded_amount") <> 0 ORDER BY 1, 2
		ON CONFLICT ("currency", "month") DO UPDATE SET "amount" = "revenue_months"."amount" + excluded."amount";
	ELSIF TG_OP = 'DELETE' THEN
		INSERT INTO "revenue_months" ("currency", "month", "amount")
		SELECT "currency", date_trunc('month', timezone('Africa/Nairobi', "completed_at"))::date AS month, -sum("amount" - "refunded_amount")
		FROM old_rows WHERE "status" IN ('completed', 'refunded')
		GROUP BY 1, 2 HAVING sum("amount" - "refunded_amount") <> 0 ORDER BY 1, 2
		ON CONFLICT ("currency", "month") DO UPDATE SET "amount" = "revenue_months"."amount" + excluded."amount";
	ELSE
		INSERT INTO "revenue_months" ("currency", "month", "amount")
		SELECT "currency", "month", sum(net)
		FROM (
			SELECT "currency", date_trunc('month', timezone('Africa/Nairobi', "completed_at"))::date AS month, "amount" - "refunded_amount" AS net
			FROM new_rows WHERE "status" IN ('completed', 'refunded')
			UNION ALL
			SELECT "currency", date_trunc('month', timezone('Africa/Nairobi', "completed_at"))::date, -("amount" - "refunded_amount")
			FROM old_rows WHERE "status" IN ('completed', 'refunded')
		) changes
		GROUP BY 1, 2 HAVING sum(net) <> 0 ORDER BY 1, 2
		ON CONFLICT ("currency", "month") DO UPDATE SET "amount" = "revenue_months"."amount" + excluded."amount";
	END IF;
	RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE FUNCTION "revenue_months_reset"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM "revenue_months";
	RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "payments_revenue_insert" AFTER INSERT ON "payments" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "revenue_months_apply"();
--> statement-breakpoint
CREATE TRIGGER "payments_revenue_update" AFTER UPDATE ON "payments" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "revenue_months_apply"();
--> statement-breakpoint
CREATE TRIGGER "payments_revenue_delete" AFTER DELETE ON "payments" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "revenue_months_apply"();
--> statement-breakpoint
CREATE TRIGGER "payments_revenue_truncate" AFTER TRUNCATE ON "payments" FOR EACH STATEMENT EXECUTE FUNCTION "revenue_months_reset"();
