/* unit.c - see unit.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "unit.h"

/* The whole fixture `name` as a malloc'd NUL-terminated string; its length in *len. */
char *fixture_read(const char *name, size_t *len)
{
	const char *dir = getenv("FIXTURES");
	char path[512];
	FILE *f;
	long size;
	char *s;

	if (!dir || !*dir)
		dir = "tests/fixtures";
	assert_true(snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path));
	if (!(f = fopen(path, "rb")))
		fail_msg("%s: cannot open (set FIXTURES to the fixtures directory)", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size >= 0);
	rewind(f);
	s = malloc((size_t)size + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)size, f), (size_t)size);
	s[size] = '\0';
	fclose(f);
	*len = (size_t)size;
	return s;
}

int temp_store_make(struct temp_store *t, const char *name, const char *db)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/%s.XXXXXX", name);
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, db);
	return 0;
}

int temp_store_open(struct temp_store *t, const char *name, const char *db)
{
	struct gw_err err = { 0 };

	if (temp_store_make(t, name, db) < 0)
		return -1;
	if (!(t->st = store_open(t->path, &err))) {
		print_message("store_open(%s): %s\n", t->path, err.msg);
		temp_store_remove(t);
		return -1;
	}
	return 0;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

void temp_store_remove(struct temp_store *t)
{
	store_close(t->st);
	t->st = NULL;
	nftw(t->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int temp_store_setup(void **state, const char *name, const char *db, int open)
{
	struct temp_store *t = calloc(1, sizeof(*t));
	int rc;

	*state = NULL;
	if (!t)
		return -1;
	rc = open ? temp_store_open(t, name, db) : temp_store_make(t, name, db);
	if (rc < 0) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

int temp_store_teardown(void **state)
{
	struct temp_store *t = *state;

	if (t)
		temp_store_remove(t);
	free(t);
	return 0;
}

void new_survey_init(struct new_survey *n, const char *id, int64_t now)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->interaction, sizeof(n->interaction), "chat-%s", id);
	n->sn.id = id;
	n->sn.customer_id = "cust-42";
	n->sn.phone = "+34600111222";
	n->sn.name = "Ana";
	n->sn.locale = "es";
	n->sn.kind = "nps";
	n->sn.channel = "sms";
	n->sn.provider = "twilio";
	n->sn.interaction_id = n->interaction;
	n->sn.touchpoint = "support_chat";
	n->sn.agent = "agent-7";
	n->sn.now = now;
	n->sn.send_after = now;
	n->sn.expires_at = now + 2 * 86400;
	n->sn.question = "Del 0 al 10, ¿nos recomendarías?";
}
