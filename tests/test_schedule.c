/* test_schedule.c: schedule periods and ticks around period boundaries.
 *
 * - rule and time parsing, with errors naming the option;
 * - the period due at a given instant: daily, weekly, monthly, at a local
 *   time in UTC and in fixed-offset zones, month ends (monthly:31 in a 30-day
 *   month, monthly:29-31 in February), the leap day, the year end;
 * - tick against a real queue: exactly the due jobs, once each (a daily
 *   schedule ticked on two consecutive days enqueues two jobs, twice on one
 *   day one), and each job's data window rolled to the dataset's last date. */
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"
#include "util.h"
#include "vfr/dataset.h"
#include "vfr/queue.h"
#include "vfr/schedule.h"
#include "vfr/synth.h"

static int64_t T(const char *iso)
{
    int64_t t = 0;
    vfr_status st = vfr_time_parse(iso, &t);
    if (st != VFR_OK) {
        fprintf(stderr, "bad time in the test: %s\n", iso);
        test_failures++;
    }
    return t;
}

static vfr_schedule_rule R(const char *every, const char *at, const char *tz)
{
    vfr_schedule_rule r;
    vfr_status st = vfr_schedule_rule_parse(every, at, tz, &r);
    if (st != VFR_OK) {
        fprintf(stderr, "bad rule in the test: %s %s %s: %s\n", every, at, tz, vfr_last_error());
        test_failures++;
    }
    return r;
}

/* The period at `now` must have local date `day` and be due at `due`. */
static void check_period(const char *every, const char *at, const char *tz, const char *now, const char *day,
                         const char *due)
{
    vfr_schedule_rule r = R(every, at, tz);
    int64_t d;
    int32_t dd;
    vfr_schedule_period(&r, T(now), &d, &dd);
    char got_day[11], got_due[32];
    vfr_date_format(dd, got_day);
    vfr_time_format(d, got_due);
    if (strcmp(got_day, day) != 0 || d != T(due)) {
        fprintf(stderr, "%s at %s %s, now %s: period %s due %s, want %s due %s\n", every, at, tz, now, got_day,
                got_due, day, due);
        test_failures++;
    }
}

static void check_next(const char *every, const char *at, const char *tz, const char *now, const char *want)
{
    vfr_schedule_rule r = R(every, at, tz);
    int64_t n = vfr_schedule_next(&r, T(now));
    char got[32];
    vfr_time_format(n, got);
    if (n != T(want)) {
        fprintf(stderr, "%s at %s %s, now %s: next %s, want %s\n", every, at, tz, now, got, want);
        test_failures++;
    }
}

static void parsing(void)
{
    vfr_schedule_rule r;
    CHECK_FAIL(vfr_schedule_rule_parse("hourly", "02:00", "UTC", &r), VFR_ERR_INVALID_ARG, "--every");
    CHECK_FAIL(vfr_schedule_rule_parse("weekly:XYZ", "02:00", "UTC", &r), VFR_ERR_INVALID_ARG, "weekday");
    CHECK_FAIL(vfr_schedule_rule_parse("monthly:32", "02:00", "UTC", &r), VFR_ERR_INVALID_ARG, "1-31");
    CHECK_FAIL(vfr_schedule_rule_parse("monthly:0", "02:00", "UTC", &r), VFR_ERR_INVALID_ARG, "1-31");
    CHECK_FAIL(vfr_schedule_rule_parse("daily", "24:00", "UTC", &r), VFR_ERR_INVALID_ARG, "--at");
    CHECK_FAIL(vfr_schedule_rule_parse("daily", "2:00", "UTC", &r), VFR_ERR_INVALID_ARG, "--at");
    CHECK_FAIL(vfr_schedule_rule_parse("daily", "02:00", "Europe/Paris", &r), VFR_ERR_INVALID_ARG, "--tz");
    CHECK_OK(vfr_schedule_rule_parse("Weekly:monday", "23:59", "-05:30", &r));
    CHECK(r.every == VFR_EVERY_WEEKLY && r.weekday == 0 && r.minute == 23 * 60 + 59 && r.tz_minutes == -330);
    char e[16], a[8], z[8];
    vfr_schedule_rule_format(&r, e, a, z);
    CHECK(strcmp(e, "weekly:MON") == 0 && strcmp(a, "23:59") == 0 && strcmp(z, "-05:30") == 0);

    int64_t t;
    CHECK_OK(vfr_time_parse("1970-01-01T00:00:00Z", &t));
    CHECK(t == 0);
    CHECK_OK(vfr_time_parse("2024-02-29T02:00", &t));
    CHECK(t == 1709172000);
    CHECK_OK(vfr_time_parse("2024-02-29T04:00+02:00", &t));
    CHECK(t == 1709172000);
    CHECK_OK(vfr_time_parse("2024-02-28 21:00:00-05:00", &t));
    CHECK(t == 1709172000);
    CHECK_FAIL(vfr_time_parse("2023-02-29T00:00Z", &t), VFR_ERR_INVALID_ARG, "2023-02-29");
    CHECK_FAIL(vfr_time_parse("2024-13-01T00:00Z", &t), VFR_ERR_INVALID_ARG, NULL);
    CHECK_FAIL(vfr_time_parse("yesterday", &t), VFR_ERR_INVALID_ARG, "YYYY");
    char b[32];
    vfr_time_format(1709172000, b);
    CHECK(strcmp(b, "2024-02-29T02:00:00Z") == 0);
}

static void periods(void)
{
    /* daily, UTC: the boundary is the due time itself */
    check_period("daily", "02:00", "UTC", "2026-11-26T01:59:59Z", "2026-11-25", "2026-11-25T02:00Z");
    check_period("daily", "02:00", "UTC", "2026-11-26T02:00:00Z", "2026-11-26", "2026-11-26T02:00Z");
    check_period("daily", "00:00", "UTC", "2026-11-26T00:00:00Z", "2026-11-26", "2026-11-26T00:00Z");
    /* fixed offsets: the local date names the period */
    check_period("daily", "02:00", "+02:00", "2026-11-25T23:59Z", "2026-11-25", "2026-11-25T00:00Z");
    check_period("daily", "02:00", "+02:00", "2026-11-26T00:00Z", "2026-11-26", "2026-11-26T00:00Z");
    check_period("daily", "23:00", "-05:00", "2026-11-27T03:59Z", "2026-11-25", "2026-11-26T04:00Z");
    check_period("daily", "23:00", "-05:00", "2026-11-27T04:00Z", "2026-11-26", "2026-11-27T04:00Z");
    /* the leap day */
    check_period("daily", "02:00", "UTC", "2024-02-29T02:00Z", "2024-02-29", "2024-02-29T02:00Z");
    check_period("daily", "02:00", "UTC", "2024-03-01T01:00Z", "2024-02-29", "2024-02-29T02:00Z");
    check_period("daily", "02:00", "UTC", "2024-03-01T02:00Z", "2024-03-01", "2024-03-01T02:00Z");
    /* weekly: 2026-11-23 is a Monday, 2026-11-26 a Thursday */
    check_period("weekly:MON", "02:00", "UTC", "2026-11-23T01:59Z", "2026-11-16", "2026-11-16T02:00Z");
    check_period("weekly:MON", "02:00", "UTC", "2026-11-23T02:00Z", "2026-11-23", "2026-11-23T02:00Z");
    check_period("weekly:MON", "02:00", "UTC", "2026-11-29T23:59Z", "2026-11-23", "2026-11-23T02:00Z");
    check_period("weekly:THU", "06:00", "UTC", "2026-11-26T05:00Z", "2026-11-19", "2026-11-19T06:00Z");
    check_period("weekly:SUN", "22:00", "+03:00", "2026-11-29T19:00Z", "2026-11-29", "2026-11-29T19:00Z");
    /* weekly across the year end: 2027-01-01 is a Friday */
    check_period("weekly:FRI", "00:00", "UTC", "2026-12-31T23:59Z", "2026-12-25", "2026-12-25T00:00Z");
    check_period("weekly:FRI", "00:00", "UTC", "2027-01-01T00:00Z", "2027-01-01", "2027-01-01T00:00Z");
    /* monthly, the year end */
    check_period("monthly:1", "00:00", "UTC", "2026-12-31T23:59Z", "2026-12-01", "2026-12-01T00:00Z");
    check_period("monthly:1", "00:00", "UTC", "2027-01-01T00:00Z", "2027-01-01", "2027-01-01T00:00Z");
    check_period("monthly:15", "02:00", "UTC", "2027-01-10T00:00Z", "2026-12-15", "2026-12-15T02:00Z");
    /* month ends: monthly:31 in a 30-day month is its last day */
    check_period("monthly:31", "02:00", "UTC", "2026-11-30T01:59Z", "2026-10-31", "2026-10-31T02:00Z");
    check_period("monthly:31", "02:00", "UTC", "2026-11-30T02:00Z", "2026-11-30", "2026-11-30T02:00Z");
    check_period("monthly:31", "02:00", "UTC", "2026-12-31T01:00Z", "2026-11-30", "2026-11-30T02:00Z");
    check_period("monthly:31", "02:00", "UTC", "2026-12-31T02:00Z", "2026-12-31", "2026-12-31T02:00Z");
    /* February: 29-31 fall on the 29th in a leap year, the 28th otherwise */
    check_period("monthly:29", "02:00", "UTC", "2024-02-29T02:00Z", "2024-02-29", "2024-02-29T02:00Z");
    check_period("monthly:30", "02:00", "UTC", "2024-03-01T00:00Z", "2024-02-29", "2024-02-29T02:00Z");
    check_period("monthly:31", "02:00", "UTC", "2025-02-28T02:00Z", "2025-02-28", "2025-02-28T02:00Z");
    check_period("monthly:29", "02:00", "UTC", "2025-03-28T00:00Z", "2025-02-28", "2025-02-28T02:00Z");
    check_period("monthly:30", "02:00", "UTC", "2025-03-30T01:00Z", "2025-02-28", "2025-02-28T02:00Z");
    /* 1900 was not a leap year, 2000 was */
    check_period("monthly:29", "00:00", "UTC", "1900-03-01T00:00Z", "1900-02-28", "1900-02-28T00:00Z");
    check_period("monthly:29", "00:00", "UTC", "2000-03-01T00:00Z", "2000-02-29", "2000-02-29T00:00Z");
    /* a month end in a zone ahead of UTC: due the evening before in UTC */
    check_period("monthly:31", "01:00", "+02:00", "2026-11-29T23:00Z", "2026-11-30", "2026-11-29T23:00Z");

    check_next("daily", "02:00", "UTC", "2026-11-26T01:00Z", "2026-11-26T02:00Z");
    check_next("daily", "02:00", "UTC", "2026-11-26T02:00Z", "2026-11-27T02:00Z");
    check_next("weekly:MON", "02:00", "UTC", "2026-11-26T00:00Z", "2026-11-30T02:00Z");
    check_next("monthly:31", "02:00", "UTC", "2026-11-30T02:00Z", "2026-12-31T02:00Z");
    check_next("monthly:31", "02:00", "UTC", "2024-01-31T02:00Z", "2024-02-29T02:00Z");
    check_next("monthly:31", "02:00", "UTC", "2026-12-31T02:00Z", "2027-01-31T02:00Z");
}

/* ids of the queue's jobs, sorted, joined by spaces */
static void queue_ids(vfr_queue *q, char *out, size_t cap)
{
    vfr_queue_job **jobs;
    int64_t n;
    out[0] = '\0';
    if (vfr_queue_list(q, &jobs, &n) != VFR_OK) {
        test_failures++;
        return;
    }
    /* insertion sort: a handful of ids */
    for (int64_t i = 1; i < n; i++)
        for (int64_t k = i; k > 0 && strcmp(jobs[k - 1]->id, jobs[k]->id) > 0; k--) {
            vfr_queue_job *t = jobs[k];
            jobs[k] = jobs[k - 1];
            jobs[k - 1] = t;
        }
    size_t used = 0;
    for (int64_t i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? " " : "", jobs[i]->id);
    vfr_queue_list_free(jobs, n);
}

/* Ticks at `now` and checks what each schedule did, as "name:outcome" in name order. */
static void tick(vfr_queue *q, const char *now, const char *want)
{
    static const char *names[] = {"enqueued", "already", "not-due", "FAILED"};
    vfr_tick_result *r = NULL;
    int64_t n = 0;
    CHECK_OK(vfr_schedule_tick(q, T(now), NULL, &r, &n));
    char got[1024] = "";
    size_t used = 0;
    for (int64_t i = 0; i < n && used < sizeof got; i++) {
        used += (size_t)snprintf(got + used, sizeof got - used, "%s%s:%s", i ? " " : "", r[i].name,
                                 names[r[i].outcome]);
        if (r[i].outcome == VFR_TICK_FAILED)
            fprintf(stderr, "tick %s: %s failed: %s\n", now, r[i].name, r[i].error);
    }
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "tick %s:\n  got  %s\n  want %s\n", now, got, want);
        test_failures++;
    }
    free(r);
}

static void ticks(void)
{
    const char *dir = test_tmpdir();
    char ds[512], qdir[512];
    snprintf(ds, sizeof ds, "%s/d.h5", dir);
    snprintf(qdir, sizeof qdir, "%s/queue", dir);
    int32_t start;
    CHECK_OK(vfr_date_parse("2023-06-01", &start));
    vfr_synth_options so = {.S = 3, .T = 200, .F = 4, .seed = 5, .start_date = start, .compression = -1};
    CHECK_OK(vfr_synth_write(ds, &so));
    vfr_dataset *d = NULL;
    CHECK_OK(vfr_dataset_open(ds, &d));
    if (!d)
        return;
    int32_t last = vfr_dataset_meta_get(d)->date_last;
    vfr_dataset_close(d);

    char json[1024];
    snprintf(json, sizeof json,
             "{\"jobId\": \"base\", \"modelName\": \"m\", \"targetVariable\": \"price_direction_1d\","
             " \"dataConfig\": {\"dataset\": \"%s\", \"startDate\": \"2023-06-01\", \"endDate\": \"2023-09-30\"}}",
             ds);
    vfr_job *job = NULL;
    CHECK_OK(vfr_job_parse("job.json", json, &job));
    vfr_queue *q = NULL;
    CHECK_OK(vfr_queue_open(qdir, 1, &q));
    if (!job || !q)
        return;
    int64_t since = T("2024-02-27T00:00Z");
    vfr_schedule_rule daily = R("daily", "02:00", "UTC"), weekly = R("weekly:THU", "06:00", "UTC"),
                      leap = R("monthly:29", "03:00", "UTC"), mend = R("monthly:31", "02:00", "+02:00");
    CHECK_OK(vfr_schedule_add(q, "nightly", job, &daily, 120, -1, since));
    CHECK_OK(vfr_schedule_add(q, "thursday", job, &weekly, -1, VFR_PRIORITY_HIGH, since));
    CHECK_OK(vfr_schedule_add(q, "leap", job, &leap, 30, -1, since));
    CHECK_OK(vfr_schedule_add(q, "monthend", job, &mend, 60, -1, since));
    CHECK_FAIL(vfr_schedule_add(q, "nightly", job, &daily, 120, -1, since), VFR_ERR_INVALID_ARG, "exists");
    CHECK_FAIL(vfr_schedule_add(q, "bad name", job, &daily, 120, -1, since), VFR_ERR_INVALID_ARG, "name");
    CHECK_FAIL(vfr_schedule_add(q, ".hidden", job, &daily, 120, -1, since), VFR_ERR_INVALID_ARG, "name");

    /* before anything is due (periods before `since` are never enqueued) */
    tick(q, "2024-02-27T01:59Z", "leap:not-due monthend:not-due nightly:not-due thursday:not-due");
    /* the daily boundary */
    tick(q, "2024-02-27T02:00Z", "leap:not-due monthend:not-due nightly:enqueued thursday:not-due");
    tick(q, "2024-02-27T23:59Z", "leap:not-due monthend:not-due nightly:already thursday:not-due");
    /* the next day: a second daily job */
    tick(q, "2024-02-28T02:00Z", "leap:not-due monthend:not-due nightly:enqueued thursday:not-due");
    tick(q, "2024-02-28T12:00Z", "leap:not-due monthend:not-due nightly:already thursday:not-due");
    /* monthly:31 at 02:00 +02:00 is due at 00:00Z on the 29th (February's last day) */
    tick(q, "2024-02-29T00:00Z", "leap:not-due monthend:enqueued nightly:already thursday:not-due");
    /* the leap day: daily, and monthly:29 at 03:00; Thursday at 06:00 */
    tick(q, "2024-02-29T02:00Z", "leap:not-due monthend:already nightly:enqueued thursday:not-due");
    tick(q, "2024-02-29T03:00Z", "leap:enqueued monthend:already nightly:already thursday:not-due");
    tick(q, "2024-02-29T06:00Z", "leap:already monthend:already nightly:already thursday:enqueued");
    tick(q, "2024-02-29T06:00Z", "leap:already monthend:already nightly:already thursday:already");
    tick(q, "2024-03-01T01:59Z", "leap:already monthend:already nightly:already thursday:already");
    tick(q, "2024-03-01T02:00Z", "leap:already monthend:already nightly:enqueued thursday:already");

    char ids[2048];
    queue_ids(q, ids, sizeof ids);
    const char *want = "leap-2024-02-29 monthend-2024-02-29 nightly-2024-02-27 nightly-2024-02-28 "
                       "nightly-2024-02-29 nightly-2024-03-01 thursday-2024-02-29";
    if (strcmp(ids, want) != 0) {
        fprintf(stderr, "queued jobs:\n  got  %s\n  want %s\n", ids, want);
        test_failures++;
    }

    /* the rolled window: end = the dataset's last date, start = end - span */
    struct { const char *id; int32_t span; int prio; } roll[] = {
        {"nightly-2024-02-28", 120, VFR_PRIORITY_NORMAL},
        {"thursday-2024-02-29", 121, VFR_PRIORITY_HIGH}, /* the job's own span: 2023-06-01..09-30 */
        {"monthend-2024-02-29", 60, VFR_PRIORITY_NORMAL},
    };
    for (size_t i = 0; i < sizeof roll / sizeof roll[0]; i++) {
        vfr_queue_job *qj = NULL;
        CHECK_OK(vfr_queue_get(q, roll[i].id, &qj));
        if (!qj)
            continue;
        vfr_job *pj = NULL;
        CHECK_OK(vfr_job_parse("queued", qj->job_json, &pj));
        if (pj) {
            CHECK(strcmp(pj->job_id, roll[i].id) == 0);
            CHECK(pj->data.end_date == last);
            if (pj->data.start_date != last - roll[i].span) {
                fprintf(stderr, "%s: startDate %d, want %d\n", roll[i].id, (int)pj->data.start_date,
                        (int)(last - roll[i].span));
                test_failures++;
            }
        }
        CHECK((int)qj->priority == roll[i].prio);
        CHECK(qj->source && strncmp(qj->source, "schedule:", 9) == 0);
        vfr_job_free(pj);
        vfr_queue_job_free(qj);
    }

    /* list, remove */
    vfr_schedule *s = NULL;
    int64_t n = 0;
    CHECK_OK(vfr_schedule_list(q, &s, &n));
    CHECK(n == 4 && s && strcmp(s[2].name, "nightly") == 0 && strcmp(s[2].last_job, "nightly-2024-03-01") == 0);
    vfr_schedule_list_free(s, n);
    CHECK_OK(vfr_schedule_remove(q, "leap"));
    CHECK_FAIL(vfr_schedule_remove(q, "leap"), VFR_ERR_NOT_FOUND, "leap");
    tick(q, "2024-03-02T02:00Z", "monthend:already nightly:enqueued thursday:already");

    /* a schedule whose dataset is gone fails alone; the others go on */
    char json2[1024], gone[600];
    snprintf(gone, sizeof gone, "%s/gone.h5", dir);
    CHECK(vfri_write_file_atomic(gone, "x", 1) == VFR_OK);
    snprintf(json2, sizeof json2,
             "{\"jobId\": \"g\", \"modelName\": \"m\", \"targetVariable\": \"price_direction_1d\","
             " \"dataConfig\": {\"dataset\": \"%s\"}}",
             gone);
    vfr_job *gj = NULL;
    CHECK_OK(vfr_job_parse("gone.json", json2, &gj));
    if (gj)
        CHECK_OK(vfr_schedule_add(q, "broken", gj, &daily, -1, -1, since));
    vfr_job_free(gj);
    tick(q, "2024-03-03T02:00Z", "broken:FAILED monthend:already nightly:enqueued thursday:already");

    vfr_queue_close(q);
    vfr_job_free(job);
    vfri_remove_tree(dir);
}

int main(void)
{
    parsing();
    periods();
    ticks();
    return test_done("test_schedule");
}
