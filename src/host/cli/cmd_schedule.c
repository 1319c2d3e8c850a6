/* cmd_schedule.c: `vfr schedule add|list|remove|tick`: retraining
 * schedules kept in the queue; `tick` (for cron or scrontab) enqueues each
 * due period's job once. docs/queue.md, "Schedules". */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "vfr/job.h"
#include "vfr/queue.h"
#include "vfr/schedule.h"

static const char help[] =
    "usage: vfr schedule add NAME --job JOB.json --every daily|weekly:MON|monthly:D\n"
    "                        --at HH:MM [--tz UTC|+HH:MM] [--span-days N]\n"
    "                        [--priority low|normal|high] [--since ISO-TIME]\n"
    "       vfr schedule list [--json] [--now ISO-TIME]\n"
    "       vfr schedule remove NAME\n"
    "       vfr schedule tick [--now ISO-TIME] [--max-queued N]\n"
    "  (each with [--queue DIR]; default $VFR_QUEUE, else ./vfr-queue)\n\n"
    "tick enqueues each schedule's current period once, as job <NAME>-YYYY-MM-DD\n"
    "(the period's local due date): ticking twice in a period adds nothing. The\n"
    "job's data window rolls forward: endDate = the dataset's last date,\n"
    "startDate = endDate - N days (--span-days; default: the job's own span).\n"
    "monthly:29-31 fall on a shorter month's last day. --tz takes UTC or a fixed\n"
    "offset (no zone names: daylight saving needs the offset changed, or UTC).\n"
    "--since: periods due before it are never enqueued (default: now).\n"
    "Run tick from cron, e.g. every 10 minutes: */10 * * * * vfr schedule tick\n\n"
    "exit codes: 0 ok, 1 a schedule's job could not be queued (see its line),\n"
    "2 bad arguments or job\n";

static int now_arg(const char *s, int64_t *now)
{
    if (!s) {
        *now = (int64_t)time(NULL);
        return 0;
    }
    vfr_status st = vfr_time_parse(s, now);
    if (st != VFR_OK) {
        vfr_error_prefix("--now: ");
        return cli_fail(st);
    }
    return 0;
}

static int sched_add(vfr_queue *q, int argc, char **argv)
{
    const char *name = NULL, *job_path = NULL, *every = NULL, *at = NULL, *tz = "UTC", *prio = NULL, *since = NULL;
    int64_t span = -1;
    /* documented by the usage lines of the help */
    const cli_option opts[] = {
        {.name = "--job", .kind = CLI_STR, .dest = &job_path},
        {.name = "--every", .kind = CLI_STR, .dest = &every},
        {.name = "--at", .kind = CLI_STR, .dest = &at},
        {.name = "--tz", .kind = CLI_STR, .dest = &tz},
        {.name = "--priority", .kind = CLI_STR, .dest = &prio},
        {.name = "--since", .kind = CLI_STR, .dest = &since},
        {.name = "--span-days", .kind = CLI_I64, .dest = &span, .lo = 1, .hi = 73000},
        {0},
    };
    int prc = cli_parse(argc, argv, help, opts, NULL, &name, 1);
    if (prc)
        return prc < 0 ? 0 : prc;
    if (!name || !job_path || !every || !at)
        return cli_usage_error("schedule add needs NAME, --job, --every and --at");
    vfr_schedule_rule r;
    vfr_status st = vfr_schedule_rule_parse(every, at, tz, &r);
    if (st != VFR_OK)
        return cli_fail(st);
    int priority = -1;
    if (prio) {
        vfr_queue_priority p;
        if ((st = vfr_queue_parse_priority(prio, "--priority", &p)) != VFR_OK)
            return cli_fail(st);
        priority = (int)p;
    }
    int64_t t0;
    int rc = now_arg(since, &t0);
    if (rc)
        return rc;
    vfr_job *job;
    if ((st = vfr_job_load(job_path, &job)) != VFR_OK)
        return cli_fail(st);
    st = vfr_schedule_add(q, name, job, &r, (int32_t)span, priority, t0);
    vfr_job_free(job);
    if (st != VFR_OK)
        return cli_fail(st);
    char e[16], a[8], z[8], next[32];
    vfr_schedule_rule_format(&r, e, a, z);
    int64_t n = vfr_schedule_next(&r, t0 - 1);
    vfr_time_format(n, next);
    printf("schedule %s: %s at %s %s; first run %s\n", name, e, a, z, next);
    return 0;
}

static int sched_list(vfr_queue *q, int argc, char **argv)
{
    const char *now_s = NULL;
    int json = 0;
    const cli_option opts[] = {
        {.name = "--json", .kind = CLI_FLAG, .dest = &json},
        {.name = "--now", .kind = CLI_STR, .dest = &now_s},
        {0},
    };
    int rc = cli_parse(argc, argv, help, opts, NULL, NULL, 0);
    if (rc)
        return rc < 0 ? 0 : rc;
    int64_t now;
    rc = now_arg(now_s, &now);
    if (rc)
        return rc;
    vfr_schedule *s;
    int64_t n;
    vfr_status st = vfr_schedule_list(q, &s, &n);
    if (st != VFR_OK)
        return cli_fail(st);
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    if (!json && n == 0)
        printf("no schedules in %s\n", vfr_queue_dir(q));
    else if (!json)
        printf("%-24s %-12s %-6s %-7s %-6s %-21s %s\n", "NAME", "EVERY", "AT", "TZ", "SPAN", "NEXT", "LAST JOB");
    for (int64_t i = 0; i < n; i++) {
        char e[16], a[8], z[8], next[32], span[16];
        vfr_schedule_rule_format(&s[i].rule, e, a, z);
        int64_t nx = vfr_schedule_next(&s[i].rule, now);
        for (int k = 0; nx < s[i].since && k < 100000; k++)
            nx = vfr_schedule_next(&s[i].rule, nx);
        vfr_time_format(nx, next);
        if (s[i].span_days >= 0)
            snprintf(span, sizeof span, "%dd", (int)s[i].span_days);
        else
            snprintf(span, sizeof span, "job");
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", s[i].name);
            cJSON_AddStringToObject(o, "every", e);
            cJSON_AddStringToObject(o, "at", a);
            cJSON_AddStringToObject(o, "tz", z);
            if (s[i].span_days >= 0)
                cJSON_AddNumberToObject(o, "spanDays", s[i].span_days);
            else
                cJSON_AddNullToObject(o, "spanDays");
            cJSON_AddStringToObject(o, "next", next);
            cJSON_AddStringToObject(o, "lastJob", s[i].last_job);
            cJSON *jj = cJSON_Parse(s[i].job_json);
            cJSON_AddStringToObject(o, "jobId", cJSON_IsString(cJSON_GetObjectItem(jj, "jobId"))
                                                    ? cJSON_GetObjectItem(jj, "jobId")->valuestring
                                                    : "");
            cJSON_Delete(jj);
            cJSON_AddItemToArray(arr, o);
        } else {
            printf("%-24s %-12s %-6s %-7s %-6s %-21s %s\n", s[i].name, e, a, z, span, next,
                   s[i].last_job[0] ? s[i].last_job : "-");
        }
    }
    if (json) {
        char *t = cJSON_Print(arr);
        puts(t ? t : "[]");
        free(t);
        cJSON_Delete(arr);
    }
    vfr_schedule_list_free(s, n);
    return 0;
}

static int sched_tick(vfr_queue *q, int argc, char **argv)
{
    const char *now_s = NULL;
    int64_t max_queued = 0;
    const cli_option opts[] = {
        {.name = "--now", .kind = CLI_STR, .dest = &now_s},
        {.name = "--max-queued", .kind = CLI_I64, .dest = &max_queued, .lo = 1, .hi = 100000000},
        {0},
    };
    int rc = cli_parse(argc, argv, help, opts, NULL, NULL, 0);
    if (rc)
        return rc < 0 ? 0 : rc;
    int64_t now;
    rc = now_arg(now_s, &now);
    if (rc)
        return rc;
    vfr_queue_submit_options o = {.priority = -1, .max_queued = max_queued};
    vfr_tick_result *r;
    int64_t n;
    vfr_status st = vfr_schedule_tick(q, now, &o, &r, &n);
    if (st != VFR_OK)
        return cli_fail(st);
    rc = 0;
    for (int64_t i = 0; i < n; i++) {
        char due[32], next[32];
        vfr_time_format(r[i].due, due);
        vfr_time_format(r[i].next, next);
        switch (r[i].outcome) {
        case VFR_TICK_ENQUEUED:
            printf("%s: enqueued %s (due %s)\n", r[i].name, r[i].job_id, due);
            break;
        case VFR_TICK_ALREADY:
            printf("%s: %s already enqueued; next %s\n", r[i].name, r[i].job_id, next);
            break;
        case VFR_TICK_NOT_DUE:
            printf("%s: not due; next %s\n", r[i].name, next);
            break;
        default:
            cli_log(VFR_LOG_ERROR, "%s: %s not queued: %s: %s", r[i].name, r[i].job_id, vfr_status_str(r[i].status),
                    r[i].error);
            if (!rc)
                rc = vfr_status_exit_code(r[i].status) == 2 ? 1 : vfr_status_exit_code(r[i].status);
        }
    }
    free(r);
    return rc;
}

int cmd_schedule(int argc, char **argv)
{
    const char *queue = vfr_queue_default_dir();
    if (argc == 0)
        return cli_usage_error("schedule: add, list, remove or tick?");
    if (cli_is_help(argv[0])) {
        fputs(help, stdout);
        return 0;
    }
    /* --queue may stand anywhere after the action */
    int n = 1;
    for (int i = 1; i < argc; i++) {
        int m;
        if (cli_is_help(argv[i])) {
            fputs(help, stdout);
            return 0;
        } else if ((m = cli_opt(argc, argv, &i, "--queue", &queue)) != 0) {
            if (m < 0)
                return 2;
        } else {
            argv[n++] = argv[i];
        }
    }
    argc = n;
    const char *action = argv[0];
    if (strcmp(action, "add") && strcmp(action, "list") && strcmp(action, "remove") && strcmp(action, "tick"))
        return cli_usage_error("schedule: unknown action '%s' (add, list, remove, tick)", action);
    vfr_queue *q;
    vfr_status st = vfr_queue_open(queue, strcmp(action, "add") == 0, &q);
    if (st != VFR_OK)
        return cli_fail(st);
    int rc;
    if (strcmp(action, "add") == 0) {
        rc = sched_add(q, argc - 1, argv + 1);
    } else if (strcmp(action, "list") == 0) {
        rc = sched_list(q, argc - 1, argv + 1);
    } else if (strcmp(action, "tick") == 0) {
        rc = sched_tick(q, argc - 1, argv + 1);
    } else if (argc != 2 || argv[1][0] == '-') {
        rc = cli_usage_error("usage: vfr schedule remove NAME");
    } else {
        st = vfr_schedule_remove(q, argv[1]);
        rc = st == VFR_OK ? (printf("removed schedule %s\n", argv[1]), 0) : cli_fail(st);
    }
    vfr_queue_close(q);
    return rc;
}
