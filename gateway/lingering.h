/*
 * lingering.h - lingering close: a connection answered before its request body was read is not
 * closed at once, but read from and the bytes dropped for a while, then closed.
 *
 * Why: closing a socket whose receive queue still holds data makes the kernel send a reset, and a
 * client that is still writing its body (one that writes the whole request before it reads, such
 * as Python's http.client) then sees a broken pipe or a reset instead of the answer already sent
 * to it.  Reading on until the client has written everything and closed lets it read the answer.
 * nginx does the same (its lingering_close); this one serves sockets libmicrohttpd has finished
 * with, taken over just before libmicrohttpd closes its own descriptor.
 *
 * Invariants: at most `max_sockets` sockets linger at once, and each for at most `max_bytes`
 * dropped bytes, `idle_ms` without a byte and `total_ms` in all (0: no limit of that kind);
 * whichever comes first closes it, and so does the client's end of stream or an error.  The
 * sockets are read by one thread of the module's own and never written to: the answer has been
 * sent and the writing side shut down before a socket is added.
 */
#ifndef GW_LINGERING_H
#define GW_LINGERING_H

#include <stddef.h>
#include <stdint.h>

#include "gwerr.h"

struct lingering;

/* Starts the lingering thread.  NULL with err set when it cannot (out of memory, no thread). */
struct lingering *lingering_start(size_t max_sockets, size_t max_bytes, struct gw_err *err);

/*
 * Hands `fd` (a connected, non-blocking socket whose answer is sent) over to linger for at most
 * `idle_ms` without a byte and `total_ms` in all (0: no such limit).  Takes ownership of fd in
 * every case: it is closed at once when max_sockets already linger or the module is stopping.
 * Safe from any thread.
 */
void lingering_add(struct lingering *l, int fd, int64_t idle_ms, int64_t total_ms);

/* Stops the thread and closes every socket still lingering; frees l.  NULL is fine. */
void lingering_stop(struct lingering *l);

#endif
