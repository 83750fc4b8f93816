/*
 * wal_vfs.c - the operating system's SQLite VFS, with the write-ahead log's writes gathered.
 *
 * SQLite appends a commit to the log one frame at a time, and each frame with two writes (its
 * 24-byte header, then the page): a group commit of a few hundred pages is hundreds of
 * system calls, each paying the kernel's entry and its page-cache bookkeeping.  This VFS passes
 * everything to the default one ("unix") except the log's writes, which it gathers while they
 * are contiguous and hands to the kernel as one write before anything that could depend on
 * them: a sync, a read, a size, a truncation, a memory map, a close.
 *
 * Why that loses nothing SQLite relies on: a commit is durable only once its frames are synced,
 * and SQLite syncs the log (synchronous = FULL) before it publishes the commit in the shared
 * log index; every other connection, in this process or another, reads only frames the index
 * publishes, so they were on the file before they could be read.  A write that fails when
 * gathered writes are handed over fails the sync, the read or the size that needed them, so
 * the commit fails, is not published, and its caller gets an error, as when the write itself
 * failed.  A crash before the hand-over loses only frames no sync had covered: a commit SQLite
 * never reported done.
 */
#include <stdlib.h>
#include <string.h>

#include "sqlite_priv.h"

/* Bytes gathered at most before they are written: the default VFS writes at most 128 KiB - 1
 * in one call (it masks the length to 17 bits), and a commit of a few hundred pages is written
 * in a handful of calls instead of hundreds. */
#define GATHER_MAX (124u << 10)

struct gfile {
	sqlite3_file base;  /* base.pMethods: the methods below, or NULL when the open failed */
	sqlite3_file *real; /* the default VFS's file, allocated right after this struct */
	int gather;         /* opened as a write-ahead log */
	unsigned char *buf;
	size_t len;
	sqlite3_int64 off; /* where buf[0] goes in the file */
};

static sqlite3_vfs *base_vfs;
static sqlite3_vfs gather_vfs;
static sqlite3_io_methods gather_methods;

#define REAL(f) (((struct gfile *)(f))->real)

/* Writes what was gathered; SQLITE_OK or the write's error (the bytes are then dropped: the
 * caller fails, and with it the commit they belonged to). */
static int flush(struct gfile *g)
{
	int rc;

	if (!g->len)
		return SQLITE_OK;
	rc = g->real->pMethods->xWrite(g->real, g->buf, (int)g->len, g->off);
	g->len = 0;
	return rc;
}

static int g_close(sqlite3_file *f)
{
	struct gfile *g = (struct gfile *)f;
	int rc = flush(g), rc2 = g->real->pMethods->xClose(g->real);

	free(g->buf);
	g->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int g_read(sqlite3_file *f, void *out, int n, sqlite3_int64 off)
{
	int rc = flush((struct gfile *)f);

	return rc != SQLITE_OK ? rc : REAL(f)->pMethods->xRead(REAL(f), out, n, off);
}

static int g_write(sqlite3_file *f, const void *data, int n, sqlite3_int64 off)
{
	struct gfile *g = (struct gfile *)f;
	int rc;

	if (!g->gather || n <= 0 || (size_t)n > GATHER_MAX)
		return flush(g) != SQLITE_OK ? SQLITE_IOERR_WRITE :
					       g->real->pMethods->xWrite(g->real, data, n, off);
	if (g->len && (off != g->off + (sqlite3_int64)g->len || g->len + (size_t)n > GATHER_MAX) &&
	    (rc = flush(g)) != SQLITE_OK)
		return rc;
	if (!g->buf && !(g->buf = malloc(GATHER_MAX)))
		return g->real->pMethods->xWrite(g->real, data, n, off);
	if (!g->len)
		g->off = off;
	memcpy(g->buf + g->len, data, (size_t)n);
	g->len += (size_t)n;
	return SQLITE_OK;
}

static int g_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	int rc = flush((struct gfile *)f);

	return rc != SQLITE_OK ? rc : REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int g_sync(sqlite3_file *f, int flags)
{
	int rc = flush((struct gfile *)f);

	return rc != SQLITE_OK ? rc : REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int g_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	int rc = flush((struct gfile *)f);

	return rc != SQLITE_OK ? rc : REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int g_lock(sqlite3_file *f, int level)
{
	return REAL(f)->pMethods->xLock(REAL(f), level);
}

static int g_unlock(sqlite3_file *f, int level)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), level);
}

static int g_check_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int g_file_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int g_sector_size(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int g_device_characteristics(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int g_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **out)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), region, size, extend, out);
}

static int g_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void g_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int g_shm_unmap(sqlite3_file *f, int delete_flag)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), delete_flag);
}

static int g_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
	int rc = flush((struct gfile *)f);

	*out = NULL;
	return rc != SQLITE_OK ? rc : REAL(f)->pMethods->xFetch(REAL(f), off, n, out);
}

static int g_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static int g_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
	struct gfile *g = (struct gfile *)f;
	int rc;

	(void)vfs;
	memset(g, 0, sizeof(*g));
	g->real = (sqlite3_file *)(g + 1);
	g->gather = (flags & SQLITE_OPEN_WAL) != 0;
	rc = base_vfs->xOpen(base_vfs, name, g->real, flags, out_flags);
	/* SQLite calls xClose after a failed open only when pMethods is set */
	g->base.pMethods = g->real->pMethods ? &gather_methods : NULL;
	return rc;
}

/* The rest of the VFS is the default one's, called with the default one as its own. */
static int g_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
	return base_vfs->xDelete(base_vfs, name, sync_dir);
}

static int g_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	return base_vfs->xAccess(base_vfs, name, flags, out);
}

static int g_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
	return base_vfs->xFullPathname(base_vfs, name, n, out);
}

static void *g_dl_open(sqlite3_vfs *v, const char *name)
{
	return base_vfs->xDlOpen(base_vfs, name);
}

static void g_dl_error(sqlite3_vfs *v, int n, char *out)
{
	base_vfs->xDlError(base_vfs, n, out);
}

static void (*g_dl_sym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	return base_vfs->xDlSym(base_vfs, h, sym);
}

static void g_dl_close(sqlite3_vfs *v, void *h)
{
	base_vfs->xDlClose(base_vfs, h);
}

static int g_randomness(sqlite3_vfs *v, int n, char *out)
{
	return base_vfs->xRandomness(base_vfs, n, out);
}

static int g_sleep(sqlite3_vfs *v, int us)
{
	return base_vfs->xSleep(base_vfs, us);
}

static int g_current_time(sqlite3_vfs *v, double *out)
{
	return base_vfs->xCurrentTime(base_vfs, out);
}

static int g_last_error(sqlite3_vfs *v, int n, char *out)
{
	return base_vfs->xGetLastError(base_vfs, n, out);
}

static int g_current_time_int64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	return base_vfs->xCurrentTimeInt64(base_vfs, out);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *registered;

static void register_vfs(void)
{
	if (sqlite3_initialize() != SQLITE_OK || !(base_vfs = sqlite3_vfs_find(NULL)) ||
	    base_vfs->iVersion < 2 || !base_vfs->xCurrentTimeInt64)
		return;
	gather_methods = (sqlite3_io_methods){
		.iVersion = 3,
		.xClose = g_close,
		.xRead = g_read,
		.xWrite = g_write,
		.xTruncate = g_truncate,
		.xSync = g_sync,
		.xFileSize = g_file_size,
		.xLock = g_lock,
		.xUnlock = g_unlock,
		.xCheckReservedLock = g_check_reserved,
		.xFileControl = g_file_control,
		.xSectorSize = g_sector_size,
		.xDeviceCharacteristics = g_device_characteristics,
		.xShmMap = g_shm_map,
		.xShmLock = g_shm_lock,
		.xShmBarrier = g_shm_barrier,
		.xShmUnmap = g_shm_unmap,
		.xFetch = g_fetch,
		.xUnfetch = g_unfetch,
	};
	gather_vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)sizeof(struct gfile) + base_vfs->szOsFile,
		.mxPathname = base_vfs->mxPathname,
		.zName = "gateway-unix",
		.xOpen = g_open,
		.xDelete = g_delete,
		.xAccess = g_access,
		.xFullPathname = g_full_pathname,
		.xDlOpen = g_dl_open,
		.xDlError = g_dl_error,
		.xDlSym = g_dl_sym,
		.xDlClose = g_dl_close,
		.xRandomness = g_randomness,
		.xSleep = g_sleep,
		.xCurrentTime = g_current_time,
		.xGetLastError = g_last_error,
		.xCurrentTimeInt64 = g_current_time_int64,
	};
	if (sqlite3_vfs_register(&gather_vfs, 0) == SQLITE_OK)
		registered = gather_vfs.zName;
}

const char *sqlite_vfs(void)
{
	pthread_once(&once, register_vfs);
	return registered;
}
