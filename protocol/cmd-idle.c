/* IDLE (RFC 2177) and the protocol side of change notification: the
 * "+ idling" continuation, the client's "DONE", and the entry points
 * server/ calls when the selected mailbox's watch descriptor is readable,
 * a fallback poll interval passed or a keepalive is due. Reports go
 * through imap_sync(), so IDLE and NOOP tell a client the same things.
 * Never polls or reads a descriptor itself: maildir/ drains its inotify
 * queue, server/ waits on it.
 */
#include "protocol/imap-private.h"

#include <stdlib.h>
#include <strings.h>

#include "lib/log.h"
#include "lib/mem.h"

void
imap_idle_clear(struct imap_session *s)
{
	free(s->idle_tag);
	s->idle_tag = NULL;
}

/* Start watching the selected box, once per selection. Without inotify
 * (forced by mailbox_watch = poll, or inotify failing: no instances or
 * watches left, a filesystem that does not support it) the view stays
 * unwatched and server/ polls at imap_session_poll_interval(). */
static void
idle_watch(struct imap_session *s)
{
	struct imap_view *v = &s->view;
	const char *text = NULL;

	if (v->box == NULL || v->is_watched || s->watch_unavailable)
		return;
	if (s->cfg.watch_poll) {
		s->watch_unavailable = true;
		log_info("IDLE: mailbox_watch = poll: checking every %us",
			 s->cfg.poll_interval);
		return;
	}
	if (md_box_watch_fd(v->box) < 0) {
		(void)md_last_error(s->store, &text);
		s->watch_unavailable = true;
		log_warn("IDLE: inotify unavailable for %s (%s): checking "
			 "every %us instead",
			 md_box_name(v->box), text != NULL ? text : "?",
			 s->cfg.poll_interval);
		return;
	}
	v->is_watched = true;
}

/* Read the box's pending events. Returns true when something relevant
 * may have changed. A read error ends the watch for this session (the
 * descriptor would stay readable and wake server/ forever) and counts as
 * a change, so nothing is missed. */
static bool
idle_drain(struct imap_session *s)
{
	struct imap_view *v = &s->view;
	int r;

	if (v->box == NULL)
		return false;
	if (!v->is_watched)
		return true;
	r = md_box_watch_drain(v->box);
	if (r < 0) {
		log_warn("IDLE: reading the inotify queue of %s failed: "
			 "checking every %us instead",
			 md_box_name(v->box), s->cfg.poll_interval);
		v->is_watched = false;
		s->watch_unavailable = true;
		return true;
	}
	return r > 0;
}

/* idle            ::= "IDLE" CRLF "DONE"                   (RFC 2177 4)
 * Queued updates go first, then "+ idling", as in the RFC's example; the
 * queue is drained before the sync so that no later change is lost. */
enum imap_status
cmd_idle(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;

	idle_watch(s);
	(void)idle_drain(s); /* the sync below covers what it found */
	imap_sync(s, true);
	if (s->must_close)
		return IMAP_STATUS_CLOSE;
	s->idle_tag = xstrdup(cmd->tag);
	imap_resp_raw(s, "+ idling\r\n", 10);
	/* What follows is "DONE", not a command: never parse it as one. */
	imap_frame_expect_raw_line(&s->frame);
	return IMAP_STATUS_CONTINUE;
}

/* The line that ends an IDLE. "DONE" in any case gives the tagged OK
 * after the last updates. Anything else gives the tagged BAD and ends the
 * IDLE too, as Dovecot does: the client broke RFC 2177 ("MUST NOT send a
 * command while the server is waiting for the DONE"), the line is never
 * run as a command, and the client is back at a command boundary. */
enum imap_status
imap_idle_line(struct imap_session *s, const char *line, size_t len)
{
	char *tag = s->idle_tag;

	s->idle_tag = NULL;
	if (len != 4 || strncasecmp(line, "DONE", 4) != 0) {
		imap_resp_tagged(s, tag, IMAP_RESP_BAD, NULL, "Expected DONE.");
		free(tag);
		return IMAP_STATUS_CONTINUE;
	}
	(void)idle_drain(s); /* the sync below covers what it found */
	imap_sync(s, true);
	imap_resp_tagged(s, tag, IMAP_RESP_OK, NULL, "IDLE terminated.");
	free(tag);
	return s->must_close ? IMAP_STATUS_CLOSE : IMAP_STATUS_CONTINUE;
}

int
imap_session_watch_fd(struct imap_session *s)
{
	if (s->view.box == NULL || !s->view.is_watched || s->closed)
		return -1;
	return md_box_watch_fd(s->view.box);
}

unsigned
imap_session_poll_interval(const struct imap_session *s)
{
	if (s->idle_tag == NULL || s->view.box == NULL || s->view.is_watched)
		return 0;
	return s->cfg.poll_interval;
}

bool
imap_session_is_idling(const struct imap_session *s)
{
	return s->idle_tag != NULL;
}

/* Flush what a push wrote and tell server/ what to do next. */
static enum imap_status
push_done(struct imap_session *s)
{
	if (imap_resp_flush(s) < 0 || s->must_close) {
		s->closed = true;
		s->state = IMAP_STATE_LOGOUT;
		return IMAP_STATUS_CLOSE;
	}
	return IMAP_STATUS_CONTINUE;
}

enum imap_status
imap_session_changed(struct imap_session *s)
{
	if (s->closed || s->write_failed)
		return IMAP_STATUS_CLOSE;
	/* Outside IDLE the next command's sync reports the change (RFC 3501
	 * 7: untagged updates only around commands); draining is all. */
	if (!idle_drain(s) || s->idle_tag == NULL)
		return IMAP_STATUS_CONTINUE;
	imap_sync(s, true);
	arena_reset(s->arena);
	return push_done(s);
}

enum imap_status
imap_session_keepalive(struct imap_session *s)
{
	if (s->closed || s->write_failed)
		return IMAP_STATUS_CLOSE;
	if (s->idle_tag == NULL)
		return IMAP_STATUS_CONTINUE;
	imap_resp_untagged(s, IMAP_RESP_OK, NULL, "Still here");
	return push_done(s);
}
