/* schedule.h: retraining schedules (`vfr schedule add|list|remove|tick`).
 *
 * A schedule is a job file, a rule (daily, weekly on a weekday, monthly on a
 * day, at a local time in a fixed-offset zone) and a data span. `tick`, run
 * by cron or scrontab as often as you like, enqueues each schedule's current
 * period once: the job id is <name>-<YYYY-MM-DD of the period's due date>, so
 * a second tick in the same period finds it queued and adds nothing. The
 * period's job rolls its data window forward: endDate = the dataset's last
 * date, startDate = endDate - span. Schedules live in the queue's database.
 * Time zones: UTC and fixed offsets (+02:00); no tz database (docs/queue.md). */
#ifndef VFR_SCHEDULE_H
#define VFR_SCHEDULE_H

#include <stdint.h>

#include "vfr/job.h"
#include "vfr/queue.h"
#include "vfr/status.h"

typedef enum vfr_every {
    VFR_EVERY_DAILY = 0,
    VFR_EVERY_WEEKLY,
    VFR_EVERY_MONTHLY,
} vfr_every;

typedef struct vfr_schedule_rule {
    vfr_every every;
    int weekday;            /* weekly: 0 Monday .. 6 Sunday                      */
    int day;                /* monthly: 1-31; past a month's end, its last day   */
    int minute;             /* the local time of day, minutes after midnight     */
    int tz_minutes;         /* the zone's offset from UTC (UTC 0, +02:00 120)    */
} vfr_schedule_rule;

/* every: "daily" | "weekly:MON" (MON..SUN, or full names, any case) |
 * "monthly:D" (1-31); at: "HH:MM" (24 h); tz: "UTC", "Z", "+HH:MM", "-HH:MM"
 * (NULL: UTC). Errors: INVALID_ARG naming --every, --at or --tz. */
vfr_status vfr_schedule_rule_parse(const char *every, const char *at, const char *tz,
                                   vfr_schedule_rule *out);
/* The rule's canonical texts: "weekly:MON", "02:00", "+02:00" or "UTC". */
void vfr_schedule_rule_format(const vfr_schedule_rule *r, char every[16], char at[8], char tz[8]);

/* Parses "YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM|-HH:MM]" (a space for T is fine;
 * no zone means UTC) into Unix seconds. Errors: INVALID_ARG. */
vfr_status vfr_time_parse(const char *s, int64_t *unix_s);
/* Unix seconds as "YYYY-MM-DDTHH:MM:SSZ". */
void vfr_time_format(int64_t unix_s, char out[32]);

/* The latest period due at or before now: *due (Unix seconds) and *day, the
 * local date of the due time (days since 1970-01-01; the job id's date). */
void vfr_schedule_period(const vfr_schedule_rule *r, int64_t now, int64_t *due, int32_t *day);
/* The first due time after now. */
int64_t vfr_schedule_next(const vfr_schedule_rule *r, int64_t now);

typedef struct vfr_schedule {
    char name[101];
    vfr_schedule_rule rule;
    char *job_json;         /* the resolved job file, as added                  */
    int32_t span_days;      /* startDate = endDate - span; -1: the job's own start */
    int priority;           /* a vfr_queue_priority, or -1: the job's           */
    int64_t since;          /* periods due before this are never enqueued       */
    int64_t created;
    char last_job[160];     /* the last job id a tick enqueued ("" none)        */
    int64_t last_tick;      /* 0: never                                        */
} vfr_schedule;

/* Adds a schedule. name: 1-100 of A-Z a-z 0-9 . _ -, not starting with '.'
 * (it prefixes job ids). span_days: -1 for the job's own span (endDate -
 * startDate when it has both, else its start stays as it is). since: Unix
 * seconds (the add time, usually). Errors: INVALID_ARG (name, span, a name
 * in use: remove it first), IO. */
vfr_status vfr_schedule_add(vfr_queue *q, const char *name, const vfr_job *job, const vfr_schedule_rule *r,
                            int32_t span_days, int priority, int64_t since);
/* Errors: NOT_FOUND, IO. */
vfr_status vfr_schedule_remove(vfr_queue *q, const char *name);
/* OUT *out: [*n] in name order (vfr_schedule_list_free). */
vfr_status vfr_schedule_list(vfr_queue *q, vfr_schedule **out, int64_t *n);
void vfr_schedule_list_free(vfr_schedule *s, int64_t n);

/* The job of the period whose local due date is `day`: the schedule's job
 * with jobId <name>-YYYY-MM-DD and its data window rolled forward to the
 * dataset's last date. OUT *out: vfr_job_free. Errors: the dataset's and the
 * job's (INVALID_ARG, NOT_FOUND, FORMAT). */
vfr_status vfr_schedule_job(const vfr_schedule *s, int32_t day, vfr_job **out);

typedef enum vfr_tick_outcome {
    VFR_TICK_ENQUEUED = 0,  /* the period's job was queued now                   */
    VFR_TICK_ALREADY,       /* it was queued by an earlier tick                  */
    VFR_TICK_NOT_DUE,       /* no period due since the schedule began            */
    VFR_TICK_FAILED,        /* its job could not be built or queued: error       */
} vfr_tick_outcome;

typedef struct vfr_tick_result {
    char name[101];
    char job_id[160];       /* the period's job id ("" when not due)            */
    vfr_tick_outcome outcome;
    int64_t due, next;      /* this period's due time, the next one's           */
    vfr_status status;      /* FAILED: why                                       */
    char error[1024];
} vfr_tick_result;

/* Enqueues every schedule's period due at `now` that is not queued yet.
 * A failure of one schedule (its dataset is gone, the queue is full) is
 * reported in its result and does not stop the others. OUT *out: [*n]
 * (free()). Errors: IO, NOMEM (the tick itself). */
vfr_status vfr_schedule_tick(vfr_queue *q, int64_t now, const vfr_queue_submit_options *o,
                             vfr_tick_result **out, int64_t *n);

#endif
