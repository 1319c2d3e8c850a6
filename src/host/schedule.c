/* schedule.c: retraining schedules (schedule.h): the calendar arithmetic of
 * periods (proleptic Gregorian, days since 1970-01-01, fixed-offset zones),
 * the schedules table in the queue's database, and the tick that enqueues
 * each due period's job once, with its data window rolled forward.
 *
 * Exactly once per period comes from the job id: <name>-<due date> is unique
 * in the queue, so a second tick's submit is refused as a duplicate (and
 * reported as "already enqueued"), whichever process ticks. */
#include "queue_internal.h"
#include "vfr/schedule.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util.h"
#include "vfr/dataset.h"
#include "vfr/prepare.h"

/* ---- calendar (Howard Hinnant's days_from_civil / civil_from_days) ---- */

static int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int64_t y, int m)
{
    static const int n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : n[m - 1];
}

/* 0 Monday .. 6 Sunday; 1970-01-01 was a Thursday */
static int weekday_of(int64_t day) { return (int)(((day + 3) % 7 + 7) % 7); }

static const char *const wd_short[] = {"MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"};
static const char *const wd_long[] = {"MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"};

/* ---- parsing ---- */

/* exactly n digits at s -> *v */
static int digits(const char *s, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        x = 10 * x + (s[i] - '0');
    }
    *v = x;
    return 0;
}

/* "UTC" | "Z" | "+HH:MM" | "-HH:MM" (also "UTC+02:00") */
static int parse_offset(const char *s, int *minutes)
{
    if (strcasecmp(s, "UTC") == 0 || strcasecmp(s, "Z") == 0 || strcasecmp(s, "GMT") == 0) {
        *minutes = 0;
        return 0;
    }
    if (strncasecmp(s, "UTC", 3) == 0)
        s += 3;
    int hh, mm;
    if ((s[0] != '+' && s[0] != '-') || digits(s + 1, 2, &hh) || s[3] != ':' || digits(s + 4, 2, &mm) ||
        s[6] != '\0' || hh > 14 || mm > 59)
        return -1;
    *minutes = (s[0] == '-' ? -1 : 1) * (hh * 60 + mm);
    return 0;
}

vfr_status vfr_schedule_rule_parse(const char *every, const char *at, const char *tz, vfr_schedule_rule *out)
{
    memset(out, 0, sizeof *out);
    if (!every)
        return vfr_fail(VFR_ERR_INVALID_ARG, "--every: required (daily, weekly:MON or monthly:1)");
    if (strcasecmp(every, "daily") == 0) {
        out->every = VFR_EVERY_DAILY;
    } else if (strncasecmp(every, "weekly:", 7) == 0) {
        out->every = VFR_EVERY_WEEKLY;
        out->weekday = -1;
        for (int i = 0; i < 7; i++)
            if (strcasecmp(every + 7, wd_short[i]) == 0 || strcasecmp(every + 7, wd_long[i]) == 0)
                out->weekday = i;
        if (out->weekday < 0)
            return vfr_fail(VFR_ERR_INVALID_ARG, "--every '%s': the weekday must be MON, TUE, WED, THU, FRI, SAT or SUN",
                            every);
    } else if (strncasecmp(every, "monthly:", 8) == 0) {
        out->every = VFR_EVERY_MONTHLY;
        const char *d = every + 8;
        size_t n = strlen(d);
        int v;
        if (n < 1 || n > 2 || digits(d, (int)n, &v) || v < 1 || v > 31)
            return vfr_fail(VFR_ERR_INVALID_ARG,
                            "--every '%s': the day must be 1-31 (29-31 fall on a shorter month's last day)", every);
        out->day = v;
    } else {
        return vfr_fail(VFR_ERR_INVALID_ARG, "--every '%s': want daily, weekly:MON or monthly:1", every);
    }
    int hh, mm;
    if (!at || strlen(at) != 5 || digits(at, 2, &hh) || at[2] != ':' || digits(at + 3, 2, &mm) || hh > 23 || mm > 59)
        return vfr_fail(VFR_ERR_INVALID_ARG, "--at '%s': want HH:MM, 24-hour (e.g. 02:00)", at ? at : "");
    out->minute = hh * 60 + mm;
    if (tz && parse_offset(tz, &out->tz_minutes) != 0)
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "--tz '%s': want UTC or a fixed offset like +02:00 or -05:00 (zone names are not supported: "
                        "use the offset, or UTC)",
                        tz);
    return VFR_OK;
}

void vfr_schedule_rule_format(const vfr_schedule_rule *r, char every[16], char at[8], char tz[8])
{
    if (r->every == VFR_EVERY_DAILY)
        snprintf(every, 16, "daily");
    else if (r->every == VFR_EVERY_WEEKLY)
        snprintf(every, 16, "weekly:%s", wd_short[r->weekday % 7]);
    else
        snprintf(every, 16, "monthly:%d", r->day % 100);
    snprintf(at, 8, "%02d:%02d", (r->minute / 60) % 100, r->minute % 60);
    if (r->tz_minutes == 0) {
        snprintf(tz, 8, "UTC");
    } else {
        int a = r->tz_minutes < 0 ? -r->tz_minutes : r->tz_minutes;
        snprintf(tz, 8, "%c%02d:%02d", r->tz_minutes < 0 ? '-' : '+', (a / 60) % 100, a % 60);
    }
}

vfr_status vfr_time_parse(const char *s, int64_t *unix_s)
{
    int y, mo, d, hh, mi, ss = 0, off = 0;
    const char *p = s;
    if (!s || digits(p, 4, &y) || p[4] != '-' || digits(p + 5, 2, &mo) || p[7] != '-' || digits(p + 8, 2, &d) ||
        (p[10] != 'T' && p[10] != 't' && p[10] != ' ') || digits(p + 11, 2, &hh) || p[13] != ':' ||
        digits(p + 14, 2, &mi))
        goto bad;
    p += 16;
    if (*p == ':') {
        if (digits(p + 1, 2, &ss))
            goto bad;
        p += 3;
    }
    if (*p && parse_offset(p, &off) != 0)
        goto bad;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || hh > 23 || mi > 59 || ss > 59)
        goto bad;
    *unix_s = days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss - (int64_t)off * 60;
    return VFR_OK;
bad:
    return vfr_fail(VFR_ERR_INVALID_ARG, "'%s' is not a time: want YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]", s ? s : "");
}

void vfr_time_format(int64_t t, char out[32])
{
    int64_t day = floor_div(t, 86400), sec = t - day * 86400, y;
    int m, d;
    civil_from_days(day, &y, &m, &d);
    snprintf(out, 32, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d, (int)(sec / 3600),
             (int)(sec / 60 % 60), (int)(sec % 60));
}

/* ---- periods ---- */

/* the monthly rule's due date in month (y, m): its day, or the month's last */
static int64_t monthly_day(const vfr_schedule_rule *r, int64_t y, int m)
{
    int dim = days_in_month(y, m);
    return days_from_civil(y, m, r->day < dim ? r->day : dim);
}

void vfr_schedule_period(const vfr_schedule_rule *r, int64_t now, int64_t *due, int32_t *day)
{
    int64_t local = now + (int64_t)r->tz_minutes * 60;
    int64_t today = floor_div(local, 86400);
    int64_t minute = (local - today * 86400) / 60;
    int before = minute < r->minute; /* today's due time has not come yet */
    int64_t d;
    if (r->every == VFR_EVERY_DAILY) {
        d = before ? today - 1 : today;
    } else if (r->every == VFR_EVERY_WEEKLY) {
        d = today - (weekday_of(today) - r->weekday + 7) % 7;
        if (d == today && before)
            d -= 7;
    } else {
        int64_t y;
        int m, dd;
        civil_from_days(today, &y, &m, &dd);
        d = monthly_day(r, y, m);
        if (d > today || (d == today && before)) {
            if (--m == 0)
                m = 12, y--;
            d = monthly_day(r, y, m);
        }
    }
    *day = (int32_t)d;
    *due = d * 86400 + (int64_t)r->minute * 60 - (int64_t)r->tz_minutes * 60;
}

int64_t vfr_schedule_next(const vfr_schedule_rule *r, int64_t now)
{
    int64_t due;
    int32_t day;
    vfr_schedule_period(r, now, &due, &day);
    int64_t d = day;
    if (r->every == VFR_EVERY_DAILY) {
        d += 1;
    } else if (r->every == VFR_EVERY_WEEKLY) {
        d += 7;
    } else {
        int64_t y;
        int m, dd;
        civil_from_days(d, &y, &m, &dd);
        if (++m == 13)
            m = 1, y++;
        d = monthly_day(r, y, m);
    }
    return d * 86400 + (int64_t)r->minute * 60 - (int64_t)r->tz_minutes * 60;
}

/* ---- the schedules table ---- */

static int safe_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 100 || s[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
            return 0;
    return 1;
}

vfr_status vfr_schedule_add(vfr_queue *q, const char *name, const vfr_job *job, const vfr_schedule_rule *r,
                            int32_t span_days, int priority, int64_t since)
{
    if (!name || !safe_name(name))
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "schedule name '%s' must be 1-100 letters, digits, '.', '_' or '-' (it prefixes job ids)",
                        name ? name : "");
    if (span_days < -1 || span_days > 365 * 200)
        return vfr_fail(VFR_ERR_INVALID_ARG, "--span-days %d: want 1 to 73000 days", (int)span_days);
    if (priority > VFR_PRIORITY_HIGH)
        return vfr_fail(VFR_ERR_INVALID_ARG, "schedule: priority %d out of range", priority);
    char *json = vfr_job_to_json(job);
    if (!json)
        return vfr_fail(VFR_ERR_NOMEM, "schedule: out of memory");
    char every[16], at[8], tz[8];
    vfr_schedule_rule_format(r, every, at, tz);
    vfr_status st = VFR_OK;
    db_stmt *s = NULL;
    VFR_TRY(db_begin(q->db));
    VFR_TRY(db_prepare(q->db, &s, "SELECT 1 FROM schedules WHERE name = ?", "s", name));
    if (db_step(s) == 1) {
        st = vfr_fail(VFR_ERR_INVALID_ARG, "schedule '%s' exists; `vfr schedule remove %s` first", name, name);
        goto fail;
    }
    db_finalize(s);
    s = NULL;
    VFR_TRY(db_exec(q->db, NULL,
                    "INSERT INTO schedules(name, job_json, every, at, tz, span_days, priority, since, created_at) "
                    "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    "sssssiiid", name, json, every, at, tz, (int64_t)span_days, (int64_t)priority, since, q_now()));
    VFR_TRY(db_commit(q->db));
    free(json);
    return VFR_OK;
fail:
    db_finalize(s);
    db_rollback(q->db);
    free(json);
    return st;
}

vfr_status vfr_schedule_remove(vfr_queue *q, const char *name)
{
    vfr_status st = VFR_OK;
    VFR_TRY(db_begin(q->db));
    int64_t changed = 0;
    VFR_TRY(db_exec(q->db, &changed, "DELETE FROM schedules WHERE name = ?", "s", name));
    if (changed == 0) {
        st = vfr_fail(VFR_ERR_NOT_FOUND, "queue %s: no schedule '%s'", q->dir, name);
        goto fail;
    }
    return db_commit(q->db);
fail:
    db_rollback(q->db);
    return st;
}

void vfr_schedule_list_free(vfr_schedule *s, int64_t n)
{
    for (int64_t i = 0; s && i < n; i++)
        free(s[i].job_json);
    free(s);
}

vfr_status vfr_schedule_list(vfr_queue *q, vfr_schedule **out, int64_t *n)
{
    *out = NULL;
    *n = 0;
    db_stmt *s;
    vfr_status st = db_prepare(q->db, &s,
                               "SELECT name, job_json, every, at, tz, span_days, priority, since, created_at, "
                               "last_job, last_tick FROM schedules ORDER BY name",
                               NULL);
    if (st != VFR_OK)
        return st;
    vfr_schedule *v = NULL;
    int64_t cnt = 0, cap = 0;
    int rc;
    while ((rc = db_step(s)) == 1) {
        if (cnt == cap) {
            cap = cap ? 2 * cap : 8;
            vfr_schedule *nv = realloc(v, (size_t)cap * sizeof *nv);
            if (!nv) {
                st = vfr_fail(VFR_ERR_NOMEM, "schedule: out of memory");
                break;
            }
            v = nv;
        }
        vfr_schedule *e = &v[cnt];
        memset(e, 0, sizeof *e);
        snprintf(e->name, sizeof e->name, "%s", db_text(s, 0));
        e->job_json = db_text_dup(s, 1);
        cnt++;
        if (!e->job_json) {
            st = vfr_fail(VFR_ERR_NOMEM, "schedule: out of memory");
            break;
        }
        st = vfr_schedule_rule_parse(db_text(s, 2), db_text(s, 3), db_text(s, 4), &e->rule);
        if (st != VFR_OK) {
            vfr_error_prefix("queue %s: schedule '%s': ", q->dir, e->name);
            st = VFR_ERR_FORMAT;
            break;
        }
        e->span_days = (int32_t)db_int(s, 5);
        e->priority = (int)db_int(s, 6);
        e->since = (int64_t)db_double(s, 7);
        e->created = (int64_t)db_double(s, 8);
        const char *lj = db_text(s, 9);
        snprintf(e->last_job, sizeof e->last_job, "%s", lj ? lj : "");
        e->last_tick = (int64_t)db_double(s, 10);
    }
    if (st == VFR_OK && rc != 0)
        st = db_fail(q->db, "listing schedules");
    db_finalize(s);
    if (st != VFR_OK) {
        vfr_schedule_list_free(v, cnt);
        return st;
    }
    *out = v;
    *n = cnt;
    return VFR_OK;
}

/* ---- the period's job ---- */

vfr_status vfr_schedule_job(const vfr_schedule *s, int32_t day, vfr_job **out)
{
    *out = NULL;
    vfr_status st = VFR_OK;
    vfr_job *base = NULL;
    vfr_dataset *ds = NULL;
    cJSON *root = NULL;
    char *txt = NULL, name[160], id[160], date[11];
    snprintf(name, sizeof name, "schedule %s", s->name);
    VFR_TRY(vfr_job_parse(name, s->job_json, &base));
    VFR_TRY(vfr_prepare_open_dataset(base, &ds));
    const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
    if (m->N == 0) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: dataConfig.dataset '%s' holds no rows", name, base->data.dataset);
        goto fail;
    }
    int32_t end = m->date_last, start = base->data.start_date;
    if (s->span_days >= 0)
        start = end - s->span_days;
    else if (base->data.start_date != INT32_MIN && base->data.end_date != INT32_MAX)
        start = end - (base->data.end_date - base->data.start_date);
    root = cJSON_Parse(s->job_json);
    cJSON *dc = root ? cJSON_GetObjectItemCaseSensitive(root, "dataConfig") : NULL;
    if (!cJSON_IsObject(dc)) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: the stored job has no dataConfig", name);
        goto fail;
    }
    vfr_date_format(day, date);
    snprintf(id, sizeof id, "%s-%s", s->name, date);
    cJSON_ReplaceItemInObjectCaseSensitive(root, "jobId", cJSON_CreateString(id));
    vfr_date_format(end, date);
    cJSON_ReplaceItemInObjectCaseSensitive(dc, "endDate", cJSON_CreateString(date));
    if (start != INT32_MIN) {
        vfr_date_format(start, date);
        cJSON_ReplaceItemInObjectCaseSensitive(dc, "startDate", cJSON_CreateString(date));
    }
    if (!(txt = cJSON_PrintUnformatted(root))) {
        st = vfr_fail(VFR_ERR_NOMEM, "schedule: out of memory");
        goto fail;
    }
    VFR_TRY(vfr_job_parse(name, txt, out));
fail:
    free(txt);
    cJSON_Delete(root);
    vfr_dataset_close(ds);
    vfr_job_free(base);
    return st;
}

vfr_status vfr_schedule_tick(vfr_queue *q, int64_t now, const vfr_queue_submit_options *o,
                             vfr_tick_result **out, int64_t *n)
{
    *out = NULL;
    *n = 0;
    vfr_schedule *s = NULL;
    int64_t ns = 0;
    vfr_status st = vfr_schedule_list(q, &s, &ns);
    if (st != VFR_OK)
        return st;
    vfr_tick_result *res = calloc(ns > 0 ? (size_t)ns : 1, sizeof *res);
    if (!res) {
        vfr_schedule_list_free(s, ns);
        return vfr_fail(VFR_ERR_NOMEM, "schedule: out of memory");
    }
    for (int64_t i = 0; i < ns; i++) {
        vfr_tick_result *r = &res[i];
        snprintf(r->name, sizeof r->name, "%s", s[i].name);
        int32_t day;
        vfr_schedule_period(&s[i].rule, now, &r->due, &day);
        r->next = vfr_schedule_next(&s[i].rule, now);
        if (r->due < s[i].since) {
            r->outcome = VFR_TICK_NOT_DUE;
            for (int k = 0; r->next < s[i].since && k < 100000; k++)
                r->next = vfr_schedule_next(&s[i].rule, r->next);
            continue;
        }
        char date[11];
        vfr_date_format(day, date);
        snprintf(r->job_id, sizeof r->job_id, "%s-%s", s[i].name, date);
        int exists = 0;
        if ((st = vfr_queue_exists(q, r->job_id, &exists)) != VFR_OK)
            goto done;
        if (exists) {
            r->outcome = VFR_TICK_ALREADY;
            continue;
        }
        vfr_job *job = NULL;
        vfr_status js = vfr_schedule_job(&s[i], day, &job);
        if (js == VFR_OK) {
            vfr_queue_submit_options so = o ? *o : (vfr_queue_submit_options){.priority = -1};
            char source[160];
            snprintf(source, sizeof source, "schedule:%s", s[i].name);
            so.source = source;
            so.slurm = 0;
            if (s[i].priority >= 0)
                so.priority = s[i].priority;
            js = vfr_queue_submit(q, job, &so);
        }
        vfr_job_free(job);
        if (js == VFR_OK) {
            r->outcome = VFR_TICK_ENQUEUED;
            db_exec(q->db, NULL, "UPDATE schedules SET last_job = ?, last_tick = ? WHERE name = ?", "sds", r->job_id,
                    (double)now, s[i].name);
        } else if (js == VFR_ERR_DUPLICATE_JOB_ID) {
            r->outcome = VFR_TICK_ALREADY; /* another tick won the race */
        } else {
            r->outcome = VFR_TICK_FAILED;
            r->status = js;
            snprintf(r->error, sizeof r->error, "%s", vfr_last_error());
        }
    }
    *out = res;
    *n = ns;
    res = NULL;
done:
    free(res);
    vfr_schedule_list_free(s, ns);
    return st;
}
