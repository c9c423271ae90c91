CREATE TABLE "space_counters" (
	"id" smallint PRIMARY KEY NOT NULL CHECK ("id" = 1),
	"live" integer NOT NULL,
	"available" integer NOT NULL
);
