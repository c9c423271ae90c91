import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../src/db/client.ts';

/**
 * The invariants of bookings, payments, receipts, mail and idempotency keys, checked in SQL over
 * a whole database: what must hold after any crash, outage or race, whatever was in flight.
 * Each query returns the rows that break its rule, so a failure names them.
 */
export async function assertInvariants(db: Db, options: { unansweredKeyGraceMs?: number } = {}) {
  const broken = async (name: string, query: ReturnType<typeof sql>) => {
    const rows = await queryRows<Record<string, unknown>>(db, query);
    assert.deepEqual(rows, [], `${name}: ${JSON.stringify(rows.slice(0, 5))}`);
  };

  await broken(
    'overlapping live bookings of one space',
    sql`select a.id as a, b.id as b from bookings a join bookings b on a.space_id = b.space_id and a.id < b.id
        where a.status in ('pending', 'confirmed') and b.status in ('pending', 'confirmed')
          and tstzrange(a.start_time, a.blocked_until, '[)') && tstzrange(b.start_time, b.blocked_until, '[)')`,
  );
  await broken(
    'more than one live payment of a booking',
    sql`select booking_id from payments where status in ('pending', 'completed') group by booking_id having count(*) > 1`,
  );
  // paid ⇔ a completed payment, pending ⇔ a pending one, refunded ⇔ a refunded one, unpaid ⇔ none live.
  await broken(
    'payment_status out of step with the payments',
    sql`select b.id, b.payment_status,
          count(*) filter (where p.status = 'completed') as completed,
          count(*) filter (where p.status = 'pending') as pending,
          count(*) filter (where p.status = 'refunded') as refunded
        from bookings b left join payments p on p.booking_id = b.id
        group by b.id
        having not (
          (b.payment_status = 'paid' and count(*) filter (where p.status = 'completed') = 1 and count(*) filter (where p.status in ('pending', 'refunded')) = 0)
          or (b.payment_status = 'pending' and count(*) filter (where p.status = 'pending') = 1 and count(*) filter (where p.status in ('completed', 'refunded')) = 0)
          or (b.payment_status = 'refunded' and count(*) filter (where p.status = 'refunded') >= 1 and count(*) filter (where p.status in ('pending', 'completed')) = 0)
          or (b.payment_status = 'unpaid' and count(*) filter (where p.status in ('pending', 'completed', 'refunded')) = 0)
        )`,
  );
  await broken(
    'a paid payment without its receipt',
    sql`select id from payments where status in ('completed', 'refunded') and (receipt_number is null or completed_at is null)`,
  );
  await broken('a receipt on an unpaid payment', sql`select id from payments where status in ('pending', 'failed') and receipt_number is not null`);
  await broken(
    'receipt numbers not 1..n per year, or the counter not n',
    sql`with numbered as (
          select split_part(receipt_number, '-', 2)::int as year, split_part(receipt_number, '-', 3)::int as n,
                 row_number() over (partition by split_part(receipt_number, '-', 2) order by receipt_number) as position
          from payments where receipt_number is not null
        ), years as (select year, count(*) as issued, bool_and(n = position) as contiguous from numbered group by year)
        select coalesce(y.year, c.year) as year, y.issued, y.contiguous, c.last
        from years y full join receipt_counters c on c.year = y.year
        where not coalesce(y.contiguous, false) or coalesce(y.issued, 0) <> coalesce(c.last, -1)`,
  );
  // Mail rows carry no foreign key: their cause is named in them (a booking link, a receipt's payment, a recipient's account).
  await broken(
    'a booking mail without its booking',
    sql`select m.id from mail_outbox m where m.text_body ~ '/bookings/[0-9]+'
          and not exists (select 1 from bookings b where b.id = substring(m.text_body from '/bookings/([0-9]+)')::int)`,
  );
  await broken(
    'a confirmation mail for a booking never confirmed',
    sql`select m.id from mail_outbox m join bookings b on b.id = substring(m.text_body from '/bookings/([0-9]+)')::int
        where m.subject like 'Your booking at % is confirmed' and b.confirmed_at is null`,
  );
  await broken(
    'a booking without its request mail to the host, or with two',
    sql`select b.id, count(m.id) as mails from bookings b
          left join mail_outbox m on m.subject like 'New booking request for %' and substring(m.text_body from '/bookings/([0-9]+)')::int = b.id
        group by b.id having count(m.id) <> 1`,
  );
  await broken(
    'a receipt mail without its paid payment',
    sql`select m.id from mail_outbox m, jsonb_array_elements(m.attachments) a
        where a ->> 'kind' = 'receipt'
          and not exists (select 1 from payments p where p.id::text = a ->> 'ref' and m.subject = 'Your Spacer receipt ' || p.receipt_number)`,
  );
  await broken(
    'a paid payment without exactly one receipt mail',
    sql`select p.id, count(m.id) as mails from payments p
          left join mail_outbox m on m.attachments @> jsonb_build_array(jsonb_build_object('kind', 'receipt', 'ref', p.id::text))
        where p.receipt_number is not null group by p.id having count(m.id) <> 1`,
  );
  await broken(
    'a verification mail to no account',
    sql`select m.id from mail_outbox m where m.subject = 'Confirm your email address' and not exists (select 1 from users u where lower(u.email) = lower(m.to_address))`,
  );
  // A claim is answered in its own transaction (bookings) or right after the provider call (payments).
  const graceMs = options.unansweredKeyGraceMs ?? 0;
  await broken(
    'an Idempotency-Key claimed and never answered',
    sql`select user_id, scope, key from idempotency_keys where status_code is null and created_at < now() - make_interval(secs => ${graceMs / 1000})`,
  );
}
