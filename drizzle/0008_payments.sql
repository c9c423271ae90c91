-- Payments (one live payment per booking, receipts numbered per year without gaps), saved
-- payment methods, Stripe event ids seen, receipt attachments on queued mail, and the time a
-- booking was approved (the payment deadline counts from it).
CREATE TABLE "payment_methods" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "payment_methods_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"user_id" integer NOT NULL,
	"type" text NOT NULL,
	"label" text NOT NULL,
	"phone_number" text,
	"provider_token" text,
	"brand" text,
	"last4" text,
	"is_default" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "payment_methods_type" CHECK ("payment_methods"."type" in ('mpesa', 'card')),
	CONSTRAINT "payment_methods_shape" CHECK (("payment_methods"."type" = 'mpesa' and "payment_methods"."phone_number" is not null and "payment_methods"."provider_token" is null) or ("payment_methods"."type" = 'card' and "payment_methods"."provider_token" is not null and "payment_methods"."last4" ~ '^[0-9]{4}$' and "payment_methods"."phone_number" is null))
);
--> statement-breakpoint
CREATE TABLE "payments" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "payments_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"booking_id" integer NOT NULL,
	"user_id" integer NOT NULL,
	"amount" bigint NOT NULL,
	"refunded_amount" bigint DEFAULT 0 NOT NULL,
	"currency" text NOT NULL,
	"payment_method" text NOT NULL,
	"provider" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"phone_number" text,
	"checkout_request_id" text,
	"transaction_id" text,
	"receipt_number" text,
	"failure_reason" text,
	"next_query_at" timestamp with time zone,
	"query_attempts" integer DEFAULT 0 NOT NULL,
	"refund_state" text,
	"refund_due" bigint,
	"refund_reason" text,
	"refund_reference" text,
	"refund_attempts" integer DEFAULT 0 NOT NULL,
	"refund_next_attempt_at" timestamp with time zone,
	"refund_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone,
	"refunded_at" timestamp with time zone,
	CONSTRAINT "payments_amount" CHECK ("payments"."amount" > 0 and "payments"."refunded_amount" >= 0 and "payments"."refunded_amount" <= "payments"."amount"),
	CONSTRAINT "payments_refund_due" CHECK ("payments"."refund_due" is null or ("payments"."refund_due" > 0 and "payments"."refund_due" <= "payments"."amount")),
	CONSTRAINT "payments_method" CHECK ("payments"."payment_method" in ('mpesa', 'card', 'cash')),
	CONSTRAINT "payments_provider" CHECK ("payments"."provider" in ('daraja', 'stripe', 'simulated', 'cash')),
	CONSTRAINT "payments_status" CHECK ("payments"."status" in ('pending', 'completed', 'failed', 'refunded')),
	CONSTRAINT "payments_refund_state" CHECK ("payments"."refund_state" is null or "payments"."refund_state" in ('due', 'pending', 'completed')),
	CONSTRAINT "payments_completed_has_receipt" CHECK ("payments"."status" not in ('completed', 'refunded') or ("payments"."receipt_number" is not null and "payments"."completed_at" is not null))
);
--> statement-breakpoint
CREATE TABLE "provider_events" (
	"provider" text NOT NULL,
	"event_id" text NOT NULL,
	"type" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "provider_events_provider_event_id_pk" PRIMARY KEY("provider","event_id")
);
--> statement-breakpoint
CREATE TABLE "receipt_counters" (
	"year" integer PRIMARY KEY NOT NULL,
	"last" integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE "mail_outbox" ADD COLUMN "attachments" jsonb;--> statement-breakpoint
ALTER TABLE "bookings" ADD COLUMN "confirmed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "payment_methods" ADD CONSTRAINT "payment_methods_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_booking_id_bookings_id_fk" FOREIGN KEY ("booking_id") REFERENCES "public"."bookings"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "payment_methods_user_idx" ON "payment_methods" USING btree ("user_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "payment_methods_one_default" ON "payment_methods" USING btree ("user_id") WHERE "payment_methods"."is_default";--> statement-breakpoint
CREATE UNIQUE INDEX "payments_one_live_per_booking" ON "payments" USING btree ("booking_id") WHERE "payments"."status" in ('pending', 'completed');--> statement-breakpoint
CREATE UNIQUE INDEX "payments_receipt_number_key" ON "payments" USING btree ("receipt_number");--> statement-breakpoint
CREATE UNIQUE INDEX "payments_checkout_key" ON "payments" USING btree ("provider","checkout_request_id");--> statement-breakpoint
CREATE INDEX "payments_booking_idx" ON "payments" USING btree ("booking_id","id");--> statement-breakpoint
CREATE INDEX "payments_user_created_idx" ON "payments" USING btree ("user_id","created_at","id");--> statement-breakpoint
CREATE INDEX "payments_created_idx" ON "payments" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "payments_query_due_idx" ON "payments" USING btree ("next_query_at") WHERE "payments"."status" = 'pending' and "payments"."next_query_at" is not null;--> statement-breakpoint
CREATE INDEX "payments_refund_due_idx" ON "payments" USING btree ("refund_next_attempt_at") WHERE "payments"."refund_state" = 'due';--> statement-breakpoint
CREATE INDEX "payments_refund_reference_idx" ON "payments" USING btree ("refund_reference") WHERE "payments"."refund_reference" is not null;--> statement-breakpoint
CREATE INDEX "payments_completed_at_idx" ON "payments" USING btree ("completed_at") WHERE "payments"."status" in ('completed', 'refunded');--> statement-breakpoint
CREATE INDEX "bookings_unpaid_confirmed_idx" ON "bookings" USING btree ("confirmed_at") WHERE "bookings"."status" = 'confirmed' and "bookings"."payment_status" = 'unpaid';--> statement-breakpoint
CREATE INDEX "bookings_unpaid_start_idx" ON "bookings" USING btree ("start_time") WHERE "bookings"."status" = 'confirmed' and "bookings"."payment_status" = 'unpaid';--> statement-breakpoint
-- Bookings approved before this column existed count from their last change.
UPDATE "bookings" SET "confirmed_at" = "updated_at" WHERE "status" IN ('confirmed', 'completed') AND "confirmed_at" IS NULL;
