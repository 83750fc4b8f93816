/*
 * schema.c - the database schema as a list of forward migrations.
 *
 * Migration N (1-based) takes a database from user_version N-1 to N.  A migration is never edited
 * once released: a change is a new migration appended to the list.  sqlite_store_open() runs the ones a
 * database lacks, each in its own transaction together with its user_version bump.
 */
#include "schema.h"

static const char *const migrations[] = {
	/* 1: customers, surveys, messages (outbox and inbound), responses. */
	"CREATE TABLE customers ("
	"  id INTEGER PRIMARY KEY,"
	"  ext_id TEXT NOT NULL UNIQUE,"
	"  phone TEXT NOT NULL,"
	"  name TEXT,"
	"  locale TEXT NOT NULL,"
	"  opted_out INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE TABLE surveys ("
	"  id TEXT PRIMARY KEY,"
	"  customer_id INTEGER NOT NULL REFERENCES customers(id),"
	"  phone TEXT NOT NULL,"
	"  name TEXT,"
	"  locale TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  channel TEXT NOT NULL,"
	"  provider TEXT NOT NULL,"
	"  interaction_id TEXT NOT NULL,"
	"  touchpoint TEXT,"
	"  agent TEXT,"
	"  opened_at TEXT,"
	"  closed_at TEXT,"
	"  status TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  send_after INTEGER NOT NULL,"
	"  sent_at INTEGER,"
	"  delivered_at INTEGER,"
	"  answered_at INTEGER,"
	"  expires_at INTEGER,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  reprompted INTEGER NOT NULL DEFAULT 0,"
	"  provider_message_id TEXT,"
	"  error_code TEXT,"
	"  error_message TEXT,"
	"  UNIQUE (interaction_id, kind));"
	"CREATE INDEX surveys_by_phone ON surveys (phone, provider, created_at);"
	"CREATE TABLE messages ("
	"  id INTEGER PRIMARY KEY,"
	"  survey_id TEXT REFERENCES surveys(id),"
	"  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),"
	"  purpose TEXT NOT NULL,"
	"  channel TEXT,"
	"  provider TEXT NOT NULL,"
	"  phone TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  provider_message_id TEXT,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt_at INTEGER,"
	"  error_code TEXT,"
	"  error_message TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  sent_at INTEGER,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE UNIQUE INDEX messages_by_provider_id ON messages (provider, provider_message_id)"
	"  WHERE provider_message_id IS NOT NULL;"
	"CREATE INDEX messages_due ON messages (next_attempt_at) WHERE status = 'queued';"
	"CREATE INDEX messages_by_survey ON messages (survey_id);"
	"CREATE TABLE responses ("
	"  survey_id TEXT PRIMARY KEY REFERENCES surveys(id),"
	"  score INTEGER NOT NULL,"
	"  comment TEXT NOT NULL DEFAULT '',"
	"  raw_text TEXT NOT NULL,"
	"  message_id INTEGER REFERENCES messages(id),"
	"  answered_at INTEGER NOT NULL);"
	"CREATE INDEX responses_by_time ON responses (answered_at);",

	/* 2: conversation rules: skip reasons, per-survey expiry and follow-up, time zones, and
	 * suppressions (opt-outs), which are kept for good: opting in again only flips them. */
	"ALTER TABLE surveys ADD COLUMN reason TEXT;"
	"ALTER TABLE surveys ADD COLUMN timezone TEXT;"
	"ALTER TABLE surveys ADD COLUMN expire_after_s INTEGER NOT NULL DEFAULT 172800;"
	"ALTER TABLE surveys ADD COLUMN follow_up_until INTEGER;"
	"ALTER TABLE customers ADD COLUMN timezone TEXT;"
	"CREATE INDEX surveys_by_customer ON surveys (customer_id, created_at);"
	"CREATE INDEX surveys_by_status ON surveys (status, expires_at);"
	"CREATE INDEX customers_by_phone ON customers (phone, updated_at);"
	"CREATE TABLE suppressions ("
	"  phone TEXT PRIMARY KEY,"
	"  opted_out INTEGER NOT NULL,"
	"  opted_out_at INTEGER,"
	"  opted_in_at INTEGER,"
	"  provider TEXT,"
	"  updated_at INTEGER NOT NULL);",

	/* 3: WhatsApp: a message the provider refused as free-form is sent again as a template;
	 * the customer's last inbound message per number tells whether a session is open. */
	"ALTER TABLE messages ADD COLUMN needs_template INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX messages_by_phone ON messages (phone, provider, direction, created_at);",

	/* 4: Idempotency-Key on POST /v1/surveys: the first answer, kept for replays. */
	"CREATE TABLE idempotency ("
	"  key TEXT PRIMARY KEY,"
	"  body_sha256 TEXT NOT NULL,"
	"  status INTEGER NOT NULL DEFAULT 0,"      /* 0 while the first request is in flight */
	"  response TEXT,"
	"  created_at INTEGER NOT NULL);"
	"CREATE INDEX idempotency_by_time ON idempotency (created_at);",

	/* 5: a one-row table /healthz writes to: a transaction that writes nothing would succeed on
	 * a full disk. */
	"CREATE TABLE heartbeat (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL);"
	"INSERT INTO heartbeat (id, at) VALUES (1, 0);",

	/* 6: a claimed (`sending`) message holds a lease until lease_until: past it, the send is
	 * taken to have died with its outcome unknown, and the message becomes `uncertain`. */
	"ALTER TABLE messages ADD COLUMN lease_until INTEGER;",

	/* outbound events ([events] url): written in the transaction that records what they
	 * report, deleted once the receiver took them; `expired` rows (given up after
	 * [events] max_age) are kept for an operator.  seq is the delivery order. */
	"CREATE TABLE events ("
	"  seq INTEGER PRIMARY KEY,"
	"  id TEXT NOT NULL UNIQUE,"
	"  type TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'expired')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt_at INTEGER NOT NULL,"
	"  last_error TEXT,"
	"  created_at INTEGER NOT NULL);"
	"CREATE INDEX events_due ON events (next_attempt_at) WHERE status = 'pending';",

	/* reports: the surveys of one kind triggered in a period, read in creation order without a
	 * sort (GET /v1/reports, gateway report). */
	"CREATE INDEX surveys_by_kind_time ON surveys (kind, created_at);",

	/* customer erasure and retention: when a customer's personal data was erased (NULL: never),
	 * and the message texts not yet purged by age ([store] retain_days), found without a scan. */
	"ALTER TABLE customers ADD COLUMN erased_at INTEGER;"
	"CREATE INDEX messages_unpurged_by_time ON messages (created_at) WHERE body <> '';",

	/* GET /metrics counts the messages in flight without reading the whole table. */
	"CREATE INDEX messages_in_flight ON messages (status) WHERE status IN ('sending', 'uncertain');",

	/* Messages in flight by an exact-match partial index each: SQLite uses a partial index only
	 * when the query names its condition, and the lease sweep (every second), the start-up sweep
	 * and GET /metrics ask for status = 'sending' or 'uncertain' one at a time. */
	"DROP INDEX messages_in_flight;"
	"CREATE INDEX messages_sending ON messages (lease_until) WHERE status = 'sending';"
	"CREATE INDEX messages_uncertain ON messages (survey_id) WHERE status = 'uncertain';",

	/* [store] retain_days: responses whose texts are still there, by answer time, so that the
	 * hourly purge reads only those (not every response older than the cutoff, each time). */
	"CREATE INDEX responses_unpurged_by_time ON responses (answered_at)"
	"  WHERE comment <> '' OR raw_text <> '';",

	/* The events due, found in delivery order among the pending ones only: ordered by seq,
	 * the poll walked the whole table, expired events kept for an operator included. */
	"DROP INDEX events_due;"
	"CREATE INDEX events_pending_in_order ON events (seq, next_attempt_at)"
	"  WHERE status = 'pending';",

	/* Provider message ids are unique among inbound messages only (their dedupe); outbound
	 * ones may repeat (sandboxes and mocks answer every send with one id), and a status
	 * callback for a shared id goes to the newest of its messages. */
	"DROP INDEX messages_by_provider_id;"
	"CREATE UNIQUE INDEX messages_in_by_provider_id ON messages (provider, provider_message_id)"
	"  WHERE provider_message_id IS NOT NULL AND direction = 'in';"
	"CREATE INDEX messages_out_by_provider_id ON messages (provider, provider_message_id)"
	"  WHERE provider_message_id IS NOT NULL AND direction = 'out';",
};

int schema_version(void)
{
	return (int)(sizeof(migrations) / sizeof(migrations[0]));
}

const char *schema_migration(int to_version)
{
	if (to_version < 1 || to_version > schema_version())
		return 0;
	return migrations[to_version - 1];
}
