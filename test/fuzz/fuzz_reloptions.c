/*
 * fuzz_reloptions.c — libFuzzer harness for index reloptions, against a live server.
 *
 * Reloptions are parsed by PostgreSQL's reloptions code and then checked by ours (hnsw.c's
 * m/ef_construction rule, ivfpq's subvectors dividing the dimension, the build's limits),
 * and all of it runs only inside a backend. So each input becomes SQL sent over libpq to a
 * throwaway server named by the PG* variables: CREATE INDEX ... WITH (...), perhaps ALTER
 * INDEX ... SET/RESET, an INSERT, a query through the index and vecsearch_verify, in a
 * transaction that is always rolled back.
 *
 * A finding (abort) is: the connection lost (a backend crashed), an error whose SQLSTATE
 * class is not one a user's mistake can cause (below: XX000 and every other class), any
 * error after CREATE INDEX accepted the options except from the ALTER itself, verify
 * reporting a problem, or the query through the index returning a wrong row count.
 *
 * The server is not instrumented: the coverage libFuzzer sees is this harness's own
 * (which options, which outcome), so mutation, not server-side feedback, drives the search.
 * To give it a little more to go on, each statement's outcome (status and message) and
 * every NOTICE, without digits and without the input they quote, are hashed into
 * libFuzzer's extra counters: an input that makes the server say something new is kept,
 * one that only changes a number, a name or a value is not.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libpq-fe.h"

int			LLVMFuzzerInitialize(int *argc, char ***argv);
int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---------------------------------------------------------------- what an input can pick */

static const char *const access_methods[] = {"ivf", "ivfpq", "hnsw"};
static const char *const opclasses[] = {"vector_l2_ops", "vector_ip_ops", "vector_cosine_ops",
"vector_l1_ops"};
static const char *const operators[] = {"<->", "<#>", "<=>", "<+>"};

/*
 * Dimensions of the prepared tables: tails around SIMD widths, a prime, and one vector
 * (2,100 floats) too large for an 8 kB page, so ivf slots and hnsw elements must cope.
 */
static const int dims[] = {1, 2, 3, 4, 6, 8, 16, 17, 31, 64, 300, 2100};
#define NDIMS ((int) (sizeof(dims) / sizeof(dims[0])))
#define TABLE_ROWS(dim) ((dim) > 1000 ? 120 : 400)

/* Mostly the real names, then neighbours the parser must reject or treat apart. */
static const char *const option_names[] = {
	"lists", "subvectors", "bits", "m", "ef_construction",
	"lists", "subvectors", "m", "ef_construction",	/* twice as likely */
	"Lists", "M", "ef-construction", "efconstruction", "ef_search", "nprobe", "list",
	"fillfactor", "deduplicate_items", "autovacuum_enabled", "toast.lists", "hnsw.m",
	"lists ", " m", "", "bits\x01",
};
#define NNAMES ((int) (sizeof(option_names) / sizeof(option_names[0])))

static const long long interesting[] = {
	0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 50, 63, 64, 65, 99, 100, 101, 127, 128,
	255, 256, 257, 500, 999, 1000, 1001, 1024, 2000, 2100, 4096, 8192, 16000, 16001, 32767,
	32768, 32769, 65535, 65536, 1000000, 2147483647LL, 2147483648LL, 4294967296LL,
	-1, -2, -8, -32768, -2147483647LL - 1, 9223372036854775807LL,
};
#define NINTERESTING ((int) (sizeof(interesting) / sizeof(interesting[0])))

static const char *const odd_values[] = {
	"true", "false", "on", "off", "1e1", "1.5", "-0", "+8", "0x10", "010", "1_000", "NaN",
	"'infinity'", "' 8 '", "'8 '", "''", "'8x'", "DEFAULT", "NULL", "'-2147483649'", "1e10",
	"0.0000001", "'4'", "\"m\"", "8.5e0",
};
#define NODD ((int) (sizeof(odd_values) / sizeof(odd_values[0])))

static const int ks[] = {1, 3, 10, 40, 100, 1000};
#define NKS ((int) (sizeof(ks) / sizeof(ks[0])))

/* ---------------------------------------------------------------- reading the input */

typedef struct Input
{
	const uint8_t *data;
	size_t		size;
	size_t		pos;
} Input;

/* The next byte, or 0 once the input is used up (short inputs still make a statement). */
static unsigned
Byte(Input *in)
{
	return in->pos < in->size ? in->data[in->pos++] : 0;
}

/* ---------------------------------------------------------------- building SQL text */

typedef struct Sql
{
	char		text[8192];
	size_t		len;
} Sql;

static void
Append(Sql *s, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(s->text + s->len, sizeof(s->text) - s->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		s->len += (size_t) n;
	if (s->len >= sizeof(s->text))
		s->len = sizeof(s->text) - 1;
}

/* `quote` ('"' or '\'') around bytes, the quote doubled; NUL is the one byte SQL text lacks. */
static void
AppendQuoted(Sql *s, const uint8_t *bytes, size_t n, char quote)
{
	Append(s, "%c", quote);
	for (size_t i = 0; i < n; i++)
	{
		if (bytes[i] == '\0')
			continue;
		if (bytes[i] == (uint8_t) quote)
			Append(s, "%c", quote);
		Append(s, "%c", bytes[i]);
	}
	Append(s, "%c", quote);
}

static void
AppendName(Sql *s, Input *in)
{
	unsigned	sel = Byte(in);

	if (sel < 224)
	{
		const char *name = option_names[sel % NNAMES];

		AppendQuoted(s, (const uint8_t *) name, strlen(name), '"');
	}
	else
	{
		/* raw bytes as a quoted identifier: whatever the lexer and the lookup make of them */
		size_t		n = Byte(in) % 12;
		size_t		avail = in->size - in->pos;

		if (n > avail)
			n = avail;
		AppendQuoted(s, in->data + in->pos, n, '"');
		in->pos += n;
	}
}

static void
AppendValue(Sql *s, Input *in)
{
	unsigned	sel = Byte(in);
	long long	v;

	switch (sel % 6)
	{
		case 0:					/* an interesting integer, or one next to it */
		case 1:
			v = interesting[(sel / 6) % NINTERESTING];
			if (sel & 0x80)
				v += (long long) (Byte(in) % 5) - 2;
			Append(s, " = %lld", v);
			break;
		case 2:					/* any 16-bit value, which reaches every in-range one */
			v = (long long) Byte(in) << 8;
			v |= Byte(in);
			Append(s, " = %lld", v);
			break;
		case 3:					/* an integer as a string literal, as reloptions store it */
			Append(s, " = '%lld'", interesting[(sel / 6) % NINTERESTING]);
			break;
		case 4:
			Append(s, " = %s", odd_values[(sel / 6) % NODD]);
			break;
		case 5:
			if (sel & 0x80)
				break;			/* no value at all: "WITH (m)" means m = true */
			{
				size_t		n = Byte(in) % 12;
				size_t		avail = in->size - in->pos;

				if (n > avail)
					n = avail;
				Append(s, " = ");
				AppendQuoted(s, in->data + in->pos, n, '\'');
				in->pos += n;
			}
			break;
	}
}

/*
 * `prefix` "(a = 1, b = 2)" with up to `max` options, or nothing for none (CREATE INDEX
 * with its defaults; "WITH ()" is only a syntax error). `with_values` false gives RESET's
 * name list, and SET and RESET always get at least one name.
 */
static void
AppendOptionList(Sql *s, Input *in, const char *prefix, int max, int with_values, int may_be_empty)
{
	int			n = (int) (Byte(in) % (unsigned) (max + 1));

	if (n == 0 && !may_be_empty)
		n = 1;
	if (n == 0)
		return;
	Append(s, "%s(", prefix);
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			Append(s, ", ");
		AppendName(s, in);
		if (with_values)
			AppendValue(s, in);
	}
	Append(s, ")");
}

/* ---------------------------------------------------------------- talking to the server */

/* ---------------------------------------------------------------- outcome feedback */

#define FEEDBACK_SLOTS 4096
__attribute__((used, section("__libfuzzer_extra_counters")))
static uint8_t feedback[FEEDBACK_SLOTS];

/*
 * Counts the outcome `text` of `step` in one slot, by an FNV-1a hash of the message up to
 * its first '"' (where errors start quoting input: a name, a value, which may hold quotes,
 * colons and newlines themselves), without digits. Our NOTICEs quote only the index's
 * name, so for them (`tail`) the text after the last '"' counts too, up to a newline. So
 * an input that only changes a name, a value or a number gives nothing new.
 */
static void
Feedback(const char *step, const char *text, int tail)
{
	uint32_t	h = 2166136261u;
	const char *close;

	text = text ? text : "";
	close = tail ? strrchr(text, '"') : NULL;
	for (const char *p = step; *p; p++)
		h = (h ^ (uint8_t) *p) * 16777619u;
	for (const char *p = text; *p; p++)
	{
		if (*p == '"' && close == NULL)
			break;
		if (*p == '"')
			p = close;			/* on to the NOTICE's own words after the name */
		else if (*p == '\n')
			break;
		else if (*p < '0' || *p > '9')
			h = (h ^ (uint8_t) *p) * 16777619u;
	}
	if (feedback[h % FEEDBACK_SLOTS] < 255)
		feedback[h % FEEDBACK_SLOTS]++;
}

static PGconn *conn;
static int	verbose;			/* VS_FUZZ_VERBOSE=1: print each statement and its outcome */
static int	given_up;			/* this input met another session (class 40): skip the rest */
static const char *current_input_sql;	/* the statements so far, printed with a finding */

static void
Finding(const char *what, const char *detail)
{
	fprintf(stderr, "\nFINDING: %s\n%s\nstatements of this input:\n%s\n", what,
			detail ? detail : "", current_input_sql ? current_input_sql : "");
	abort();
}

/* NOTICEs of a strict-order scan that left rows out (VsReportLeftOut), since last reset */
static int	left_out_notices;

static void
NoticeFeedback(void *arg, const PGresult *res)
{
	const char *message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	(void) arg;
	if (message != NULL && strstr(message, " left out ") != NULL)
		left_out_notices++;
	Feedback("notice", message, 1);
}

/*
 * The SQLSTATE classes a bad WITH (...) may raise: 22 data exception (out-of-range and
 * unrecognized options, our own checks), 42 syntax or access rule (a mangled name, an
 * opclass the method lacks), 54 program limit (a vector or list too large for a page),
 * 0A feature not supported, and 53 insufficient resources (hnsw's graph memory). Anything
 * else, XX000 above all, is an elog(ERROR) or a failed assertion of ours: a finding.
 */
static int
ExpectedErrorClass(const char *sqlstate)
{
	static const char *const classes[] = {"22", "42", "54", "0A", "53"};

	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (strncmp(sqlstate, classes[i], 2) == 0)
			return 1;
	return 0;
}

typedef enum Outcome
{
	SQL_OK,
	SQL_USER_ERROR,
	SQL_CONCURRENCY				/* another session got in the way: give up on this input */
} Outcome;

/*
 * Runs one statement. `user_errors_ok`: whether a user error is a possible outcome (the
 * option-bearing statements) or itself a finding (everything after the index exists).
 * `value`, when not NULL, receives the first column of the first row.
 */
static Outcome
Exec(const char *sql, int user_errors_ok, long long *value)
{
	PGresult   *res;
	ExecStatusType st;
	const char *sqlstate;
	char		detail[1024];

	if (given_up)
		return SQL_CONCURRENCY;
	res = PQexec(conn, sql);
	st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (verbose)
		fprintf(stderr, "%s;\n  -> %s %s", sql, PQresStatus(st),
				st == PGRES_FATAL_ERROR && res ? PQresultErrorMessage(res) : "\n");

	/* the statement's first word and its outcome */
	snprintf(detail, sizeof(detail), "%.6s %s", sql, PQresStatus(st));
	Feedback(detail, res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL, 0);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
	{
		if (value != NULL)
		{
			if (PQntuples(res) < 1 || PQgetisnull(res, 0, 0))
				Finding("a query returned no value", sql);
			*value = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		}
		PQclear(res);
		return SQL_OK;
	}
	sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	snprintf(detail, sizeof(detail), "statement: %s\nerror: %s", sql,
			 res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
	if (PQstatus(conn) != CONNECTION_OK || sqlstate == NULL)
		Finding("connection lost: the backend crashed (see the server log)", detail);
	if (strncmp(sqlstate, "57P", 3) == 0)
		Finding("server shut down or restarted: some backend crashed", detail);
	if (strcmp(sqlstate, "57014") == 0)
		Finding("statement timeout: a statement on a few hundred rows ran a minute", detail);
	/*
	 * Class 40 (deadlock, serialization failure) needs a second session: another harness
	 * on the same tables, not a bug of ours. The input is dropped, as if rejected.
	 */
	if (strncmp(sqlstate, "40", 2) == 0)
	{
		PQclear(res);
		PQclear(PQexec(conn, "ROLLBACK"));
		given_up = 1;
		return SQL_CONCURRENCY;
	}
	if (!user_errors_ok)
		Finding("an error after the index was accepted", detail);
	if (!ExpectedErrorClass(sqlstate))
		Finding("an error of an unexpected class (internal error or worse)", detail);
	PQclear(res);
	return SQL_USER_ERROR;
}

static void
ExecOrDie(const char *sql)
{
	PGresult   *res = PQexec(conn, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		fprintf(stderr, "fuzz_reloptions: setup failed: %s\n%s", sql, PQerrorMessage(conn));
		exit(1);
	}
	PQclear(res);
}

/*
 * One table per dimension, made once per database: nonzero, mostly distinct vectors with a
 * few exact duplicates (ties), deterministic so that a replayed input meets the same data.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char		sql[1024];

	(void) argc;
	(void) argv;
	verbose = getenv("VS_FUZZ_VERBOSE") != NULL;
	conn = PQconnectdb("");		/* PGHOST, PGPORT, PGUSER, PGDATABASE, ... */
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "fuzz_reloptions: cannot connect (set PGHOST, PGPORT, PGUSER, "
				"PGDATABASE): %s", PQerrorMessage(conn));
		exit(1);
	}
	PQsetNoticeReceiver(conn, NoticeFeedback, NULL);
	ExecOrDie("BEGIN");
	ExecOrDie("SELECT pg_advisory_xact_lock(7419)");	/* parallel fuzzers: one sets up */
	ExecOrDie("CREATE EXTENSION IF NOT EXISTS vecsearch");
	for (int i = 0; i < NDIMS; i++)
	{
		snprintf(sql, sizeof(sql),
				 "CREATE TABLE IF NOT EXISTS fz_d%d (id int, v vector(%d))", dims[i], dims[i]);
		ExecOrDie(sql);
		snprintf(sql, sizeof(sql),
				 "INSERT INTO fz_d%d SELECT i, ARRAY(SELECT (0.01 + sin((i %% 97) * 0.37 + j * 1.3)"
				 " + (j %% 3) * cos(i * 0.011))::real FROM generate_series(1, %d) j)::vector"
				 " FROM generate_series(1, %d) i WHERE NOT EXISTS (SELECT FROM fz_d%d)",
				 dims[i], dims[i], TABLE_ROWS(dims[i]), dims[i]);
		ExecOrDie(sql);
	}
	ExecOrDie("COMMIT");
	return 0;
}

/* ---------------------------------------------------------------- one input */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Input		in = {data, size, 0};
	static Sql	log;			/* every statement of this input, for a finding's report */
	Sql			s;
	int			am = (int) (Byte(&in) % 3);
	int			opc = (int) (Byte(&in) % 4);
	int			dim = dims[Byte(&in) % NDIMS];
	unsigned	rows_byte = Byte(&in);
	unsigned	flags = Byte(&in);
	int			partial = rows_byte < 200;
	int			upto = (int) rows_byte * 2; /* the partial index covers id <= upto */
	int			k = ks[(flags >> 5) % NKS];
	char		pred[64];
	char		query_vec[64 * 12];
	long long	expected,
				got,
				problems;

	log.len = 0;
	log.text[0] = '\0';
	given_up = 0;
	current_input_sql = log.text;
#define RUN(sql, user_errors_ok, value) \
	(Append(&log, "%s;\n", (sql)), Exec((sql), (user_errors_ok), (value)))

	RUN("BEGIN", 0, NULL);
	RUN("SET LOCAL statement_timeout = '60s'", 0, NULL);
	if (flags & 0x08)
		RUN("SET LOCAL maintenance_work_mem = '1MB'", 0, NULL);

	pred[0] = '\0';
	if (partial)
		snprintf(pred, sizeof(pred), " WHERE id <= %d", upto);
	s.len = 0;
	Append(&s, "CREATE INDEX fz_idx ON fz_d%d USING %s (v %s)", dim, access_methods[am],
		   opclasses[opc]);
	AppendOptionList(&s, &in, " WITH ", 4, 1, 1);
	Append(&s, "%s", pred);
	if (RUN(s.text, 1, NULL) != SQL_OK)
	{
		RUN("ROLLBACK", 0, NULL);
		return 0;
	}

	/* ALTER may fail as CREATE may; a savepoint keeps the index for what follows */
	if (flags & 0x03)
	{
		RUN("SAVEPOINT before_alter", 0, NULL);
		s.len = 0;
		Append(&s, "ALTER INDEX fz_idx");
		AppendOptionList(&s, &in, (flags & 0x01) ? " SET " : " RESET ", 3, (flags & 0x01) != 0, 0);
		if (RUN(s.text, 1, NULL) != SQL_OK)
			RUN("ROLLBACK TO SAVEPOINT before_alter", 0, NULL);
	}

	/* copies of rows already there: inserts after the build, with exact duplicates */
	if (flags & 0x04)
	{
		s.len = 0;
		Append(&s, "INSERT INTO fz_d%d SELECT id, v FROM fz_d%d WHERE id <= %u", dim, dim,
			   1 + Byte(&in) % 64);
		RUN(s.text, 0, NULL);
	}

	/*
	 * Every row the index covers must come back, up to the LIMIT, when the scan is exact:
	 * nprobe at its maximum reads every ivf list, and ef_search 1000 covers our row counts
	 * (or a NOTICE says which rows strict order left out: below).
	 */
	s.len = 0;
	Append(&s, "SELECT least(%d, count(*)) FROM fz_d%d%s", k, dim, pred);
	RUN(s.text, 0, &expected);
	RUN("SET LOCAL enable_seqscan = off", 0, NULL);
	RUN("SET LOCAL vecsearch.nprobe = 32768", 0, NULL);
	RUN("SET LOCAL vecsearch.ef_search = 1000", 0, NULL);
	{
		unsigned	seed = Byte(&in);
		size_t		len = 0;
		int			shown = dim < 64 ? dim : 64;

		/* a query vector from one byte; wider than 64 dimensions it repeats (array_fill) */
		for (int j = 0; j < shown; j++)
			len += (size_t) snprintf(query_vec + len, sizeof(query_vec) - len, "%s%.4f",
									 j ? "," : "", 0.5 + ((seed * 31 + j * 7) % 17) / 8.0);
	}
	s.len = 0;
	if (dim <= 64)
		Append(&s, "SELECT count(*) FROM (SELECT id FROM fz_d%d%s ORDER BY v %s '[%s]' LIMIT %d) s",
			   dim, pred, operators[opc], query_vec, k);
	else
		Append(&s, "SELECT count(*) FROM (SELECT id FROM fz_d%d%s ORDER BY v %s "
			   "array_fill(%.4f::real, ARRAY[%d])::vector LIMIT %d) s",
			   dim, pred, operators[opc], 0.25 + (double) (Byte(&in) % 8), dim, k);
	left_out_notices = 0;
	RUN(s.text, 0, &got);
	if (given_up)
		return 0;
	/*
	 * Strict order (the default) may leave out a row it finds after a farther one was
	 * returned (ivfpq's re-ranking batches), and then must say so: short, but never silently.
	 */
	if (got != expected && !(got < expected && left_out_notices > 0))
	{
		char		detail[128];

		snprintf(detail, sizeof(detail), "the index returned %lld rows, expected %lld", got,
				 expected);
		Finding("wrong row count through the index", detail);
	}

	RUN("SELECT count(*) FROM vecsearch_verify('fz_idx')", 0, &problems);
	if (given_up)
		return 0;
	if (problems != 0)
		Finding("vecsearch_verify reports problems with an index the server accepted", NULL);

	RUN("ROLLBACK", 0, NULL);
#undef RUN
	return 0;
}
