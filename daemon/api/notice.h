/*
 * notice.h - the daily notice by e-mail ([mail] smtp_url; off when unset).
 *
 * To each ATI and référent account with an e-mail address, for their
 * collèges only: loans overdue, leavers still holding a tablet, thefts
 * without their complaint reference, tablets still in Lost Mode.  To each
 * technician with an address: geolocation requests awaiting their second
 * approval, the push certificate expiring, push off while commands wait.
 * Nobody gets an e-mail with nothing in it.
 *
 * A run gathers everything on the loop that starts it (worker 0's jobs,
 * or the worker of `POST /api/v1/notices/send`), composes the messages
 * there, then sends them from a libuv work thread (mail.h: SMTP blocks);
 * back on that loop it logs counts only and appends one audit row
 * "notice.sent" with the counts.  One run at a time in the process.  A run
 * whose messages could not go is not tried again the same day: the next
 * day's run lists the same things again (nothing is marked as told).
 */
#ifndef NOTICE_H
#define NOTICE_H

struct worker;

/* The daily job (jobs.c, every minute): starts the day's run once the
 * local hour reaches [mail] hour, unless one ran (the row "notice.sent" by
 * "system") since the start of the local day, or mail is off. */
int notice_job(struct worker *w);
/* Drain: the run in flight sends no further message. */
void notice_stop(void);

#endif
