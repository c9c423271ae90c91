CREATE TABLE "space_images" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "space_images_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"space_id" integer NOT NULL,
	"image_url" text NOT NULL,
	"storage_key" text NOT NULL,
	"storage" text NOT NULL,
	"is_primary" boolean DEFAULT false NOT NULL,
	"width" integer NOT NULL,
	"height" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "spaces" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "spaces_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"owner_id" integer NOT NULL,
	"name" text NOT NULL,
	"description" text NOT NULL,
	"address" text NOT NULL,
	"city" text NOT NULL,
	"latitude" double precision,
	"longitude" double precision,
	"timezone" text DEFAULT 'Africa/Nairobi' NOT NULL,
	"price_per_hour" bigint NOT NULL,
	"currency" text DEFAULT 'KES' NOT NULL,
	"capacity" integer NOT NULL,
	"amenities" text[] DEFAULT '{}'::text[] NOT NULL,
	"is_available" boolean DEFAULT true NOT NULL,
	"min_booking_hours" integer DEFAULT 1 NOT NULL,
	"max_booking_hours" integer DEFAULT 24 NOT NULL,
	"min_notice_hours" integer DEFAULT 0 NOT NULL,
	"buffer_minutes" integer DEFAULT 0 NOT NULL,
	"operating_hours" jsonb,
	"cancellation_policy" text DEFAULT 'flexible' NOT NULL,
	"rating_count" integer DEFAULT 0 NOT NULL,
	"rating_sum" integer DEFAULT 0 NOT NULL,
	"search" "tsvector" GENERATED ALWAYS AS (setweight(to_tsvector('english', coalesce("spaces"."name", '')), 'A') ||
      setweight(to_tsvector('english', coalesce("spaces"."city", '')), 'B') ||
      setweight(to_tsvector('english', coalesce("spaces"."address", '')), 'C') ||
      setweight(to_tsvector('english', coalesce("spaces"."description", '')), 'D')) STORED,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"archived_at" timestamp with time zone,
	CONSTRAINT "spaces_price_positive" CHECK ("spaces"."price_per_hour" > 0),
	CONSTRAINT "spaces_capacity_positive" CHECK ("spaces"."capacity" >= 1),
	CONSTRAINT "spaces_booking_hours" CHECK ("spaces"."min_booking_hours" >= 1 and "spaces"."max_booking_hours" >= "spaces"."min_booking_hours"),
	CONSTRAINT "spaces_notice_buffer" CHECK ("spaces"."min_notice_hours" >= 0 and "spaces"."buffer_minutes" >= 0),
	CONSTRAINT "spaces_cancellation_policy" CHECK ("spaces"."cancellation_policy" in ('flexible', 'moderate', 'strict')),
	CONSTRAINT "spaces_currency" CHECK ("spaces"."currency" ~ '^[A-Z]{3}$')
);
--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "avatar_key" text;--> statement-breakpoint
ALTER TABLE "space_images" ADD CONSTRAINT "space_images_space_id_spaces_id_fk" FOREIGN KEY ("space_id") REFERENCES "public"."spaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "spaces" ADD CONSTRAINT "spaces_owner_id_users_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "space_images_space_idx" ON "space_images" USING btree ("space_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "space_images_one_primary_idx" ON "space_images" USING btree ("space_id") WHERE "space_images"."is_primary";--> statement-breakpoint
CREATE INDEX "spaces_search_idx" ON "spaces" USING gin ("search");--> statement-breakpoint
CREATE INDEX "spaces_amenities_idx" ON "spaces" USING gin ("amenities");--> statement-breakpoint
CREATE INDEX "spaces_live_created_idx" ON "spaces" USING btree ("created_at","id") WHERE "spaces"."archived_at" is null;--> statement-breakpoint
CREATE INDEX "spaces_live_price_idx" ON "spaces" USING btree ("price_per_hour","id") WHERE "spaces"."archived_at" is null;--> statement-breakpoint
CREATE INDEX "spaces_live_city_idx" ON "spaces" USING btree (lower("city"),"created_at","id") WHERE "spaces"."archived_at" is null;--> statement-breakpoint
CREATE INDEX "spaces_owner_idx" ON "spaces" USING btree ("owner_id","created_at");--> statement-breakpoint
CREATE INDEX "spaces_live_capacity_idx" ON "spaces" USING btree ("capacity") WHERE "spaces"."archived_at" is null;--> statement-breakpoint
CREATE INDEX "spaces_live_location_idx" ON "spaces" USING btree ("latitude","longitude") WHERE "spaces"."archived_at" is null and "spaces"."latitude" is not null;--> statement-breakpoint
CREATE INDEX "spaces_live_rating_idx" ON "spaces" USING btree (("rating_sum"::numeric / nullif("rating_count", 0)) desc nulls last,"id") WHERE "spaces"."archived_at" is null;