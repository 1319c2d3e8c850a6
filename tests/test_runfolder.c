/* test_runfolder.c: run folders are published in one atomic step, and the
 * leftovers of killed runs are cleaned only when their process is gone.
 *
 * - A watcher process opens <dst>/marker in a tight loop while 600 runs are
 *   published over each other: it must never find the folder missing or
 *   incomplete (the former two-step publish left a window with no folder).
 * - Stale .<name>.tmp.<pid> folders of a dead process on this host are
 *   removed; those of a live process, or owned by another host, are kept;
 *   a <name>.old.<pid> folder left by a killed two-step publish comes back
 *   as the run when the run is missing.
 * - The run folder's names and paths (vfr/runfolder.h): a path that does
 *   not fit is an error, never cut short; shard names; JSON files read
 *   required or optional, refused when broken; a finished run is told
 *   from a folder without manifest.json.
 * - vfri_find_duplicate, used for symbol and feature names, reports the
 *   earliest repeat; vfri_json_nul_line finds raw and escaped NULs. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runfolder_internal.h"
#include "test_util.h"
#include "util.h"

static void put(const char *dir, const char *name, const char *text)
{
    char p[2100];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static int exists(const char *dir, const char *name)
{
    char p[2100];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

static long dead_pid(void)
{
    pid_t p = fork();
    if (p == 0)
        _exit(0);
    waitpid(p, NULL, 0);
    return (long)p;
}

/* The run folder's names, paths and JSON files. */
static void names_and_paths(const char *root)
{
    char p[64], dir[512];
    CHECK(strcmp(vfr_runfolder_file_name(VFR_RUNFILE_METRICS), "metrics.json") == 0);
    CHECK(vfr_runfolder_file_name(VFR_RUNFILE_COUNT) == NULL);
    for (int f = 0; f < VFR_RUNFILE_COUNT; f++) /* every file has a name, none twice */
        for (int g = 0; g < f; g++)
            CHECK(vfr_runfolder_file_name((vfr_runfile)f) &&
                  strcmp(vfr_runfolder_file_name((vfr_runfile)f), vfr_runfolder_file_name((vfr_runfile)g)) != 0);
    CHECK_OK(vfr_runfolder_path("runs/a", VFR_RUNFILE_SEARCH, p, sizeof p));
    CHECK(strcmp(p, "runs/a/search.json") == 0);
    /* 18 bytes do not fit in 18: an error and an empty path, not "runs/a/search.jso" */
    CHECK(vfr_runfolder_path("runs/a", VFR_RUNFILE_SEARCH, p, 18) == VFR_ERR_INVALID_ARG && p[0] == '\0');
    CHECK(vfri_runfolder_path_named("runs/a", "../x", p, sizeof p) == VFR_ERR_INVALID_ARG);
    CHECK_OK(vfr_runfolder_dir(NULL, "job1", p, sizeof p));
    CHECK(strcmp(p, "runs/job1") == 0);
    CHECK_OK(vfr_runfolder_shard_name(VFR_RUNFILE_TRIALS, 2, 4, p, sizeof p));
    CHECK(strcmp(p, "trials.shard-2-of-4.jsonl") == 0);
    CHECK_OK(vfr_runfolder_shard_name(VFR_RUNFILE_SEARCH, 0, 3, p, sizeof p));
    CHECK(strcmp(p, "search.shard-0-of-3.json") == 0);
    CHECK_OK(vfr_runfolder_shard_name(VFR_RUNFILE_TRIALS, 0, 1, p, sizeof p));
    CHECK(strcmp(p, "trials.jsonl") == 0);
    CHECK(vfr_runfolder_shard_name(VFR_RUNFILE_METRICS, 0, 2, p, sizeof p) == VFR_ERR_INVALID_ARG);

    snprintf(dir, sizeof dir, "%s/folder", root);
    CHECK(vfri_mkdirs(dir) == 0);
    cJSON *o = NULL;
    CHECK_OK(vfri_runfolder_read_json(dir, VFR_RUNFILE_SEARCH, 0, &o)); /* optional and absent */
    CHECK(o == NULL);
    CHECK(vfri_runfolder_read_json(dir, VFR_RUNFILE_METRICS, 1, &o) == VFR_ERR_NOT_FOUND && o == NULL);
    CHECK(strstr(vfr_last_error(), "metrics.json") != NULL);
    put(dir, "comparison.json", "{\"a\": ");
    CHECK(vfri_runfolder_read_json(dir, VFR_RUNFILE_COMPARISON, 0, &o) == VFR_ERR_FORMAT && o == NULL);
    cJSON *m = cJSON_CreateObject();
    cJSON_AddNumberToObject(m, "x", 0.1);
    CHECK_OK(vfri_runfolder_write_json(dir, VFR_RUNFILE_METRICS, m));
    cJSON_Delete(m);
    CHECK_OK(vfri_runfolder_read_json(dir, VFR_RUNFILE_METRICS, 1, &o));
    CHECK(o && cJSON_GetObjectItem(o, "x") && cJSON_GetObjectItem(o, "x")->valuedouble == 0.1);
    cJSON_Delete(o);
    char *text = NULL;
    CHECK(vfr_runfolder_read(dir, VFR_RUNFILE_JOB, &text, NULL) == VFR_ERR_NOT_FOUND && text == NULL);
    put(dir, "job.json", "{}");
    CHECK(vfr_runfolder_check_finished(dir) == VFR_ERR_NOT_FOUND);
    CHECK(strstr(vfr_last_error(), "manifest.json") != NULL);
    put(dir, "manifest.json", "{}");
    CHECK_OK(vfr_runfolder_check_finished(dir));
    vfri_remove_tree(dir);
}

int main(void)
{
    const char *root = test_tmpdir();
    char dst[512], tmp[1024];
    snprintf(dst, sizeof dst, "%s/runs/job1", root);

    /* first publish: no previous run */
    CHECK_OK(vfri_run_tmp_create(dst, tmp, sizeof tmp));
    CHECK(exists(tmp, ".owner"));
    put(tmp, "marker", "0");
    put(tmp, "manifest.json", "{}");
    CHECK_OK(vfri_run_publish(tmp, dst));
    CHECK(exists(dst, "marker") && exists(dst, "manifest.json"));
    CHECK(!exists(dst, ".owner"));
    CHECK(access(tmp, F_OK) != 0);

    /* at every instant one complete run is there */
    pid_t watcher = fork();
    if (watcher == 0) {
        char p[1024];
        snprintf(p, sizeof p, "%s/marker", dst);
        long misses = 0;
        for (;;) { /* until killed; misses reported through the exit code */
            int fd = open(p, O_RDONLY);
            if (fd < 0)
                misses++;
            else
                close(fd);
            if (misses) {
                fprintf(stderr, "watcher: %s missing\n", p);
                _exit(1);
            }
        }
    }
    for (int i = 1; i <= 600; i++) {
        if (vfri_run_tmp_create(dst, tmp, sizeof tmp) != VFR_OK) {
            CHECK(0);
            break;
        }
        char text[32];
        snprintf(text, sizeof text, "%d", i);
        put(tmp, "marker", text);
        put(tmp, "manifest.json", "{}");
        if (vfri_run_publish(tmp, dst) != VFR_OK) {
            fprintf(stderr, "publish %d: %s\n", i, vfr_last_error());
            CHECK(0);
            break;
        }
    }
    int ws = 0;
    pid_t gone = waitpid(watcher, &ws, WNOHANG);
    CHECK(gone == 0); /* still watching: it never saw a gap */
    kill(watcher, SIGKILL);
    waitpid(watcher, &ws, 0);
    {
        char p[1024], got[32] = "";
        snprintf(p, sizeof p, "%s/marker", dst);
        FILE *f = fopen(p, "r");
        if (f) {
            if (!fgets(got, sizeof got, f))
                got[0] = '\0';
            fclose(f);
        }
        CHECK(strcmp(got, "600") == 0);
    }

    /* stale leftovers */
    char d_dead[1024], d_live[1024], d_other[1024], d_old[1024], owner[1200];
    long dead = dead_pid();
    snprintf(d_dead, sizeof d_dead, "%s/runs/.job1.tmp.%ld", root, dead);
    snprintf(d_live, sizeof d_live, "%s/runs/.job1.tmp.%ld", root, (long)getppid());
    snprintf(d_other, sizeof d_other, "%s/runs/.job1.tmp.%ld", root, dead_pid());
    CHECK(vfri_mkdirs(d_dead) == 0 && vfri_mkdirs(d_live) == 0 && vfri_mkdirs(d_other) == 0);
    put(d_dead, "half.h5", "x");
    snprintf(owner, sizeof owner, "no-such-host.invalid %ld\n", dead);
    put(d_other, ".owner", owner);
    CHECK(vfri_run_clean_stale(dst) == 1);
    CHECK(access(d_dead, F_OK) != 0);
    CHECK(access(d_live, F_OK) == 0);
    CHECK(access(d_other, F_OK) == 0);

    /* a previous run moved aside by a killed two-step publish comes back */
    snprintf(d_old, sizeof d_old, "%s.old.%ld", dst, dead_pid());
    CHECK(rename(dst, d_old) == 0);
    CHECK(vfri_run_clean_stale(dst) == 1);
    CHECK(exists(dst, "marker") && access(d_old, F_OK) != 0);
    /* the next run's folder creation cleans too */
    snprintf(d_dead, sizeof d_dead, "%s/runs/.job1.tmp.%ld", root, dead_pid());
    CHECK(vfri_mkdirs(d_dead) == 0);
    CHECK_OK(vfri_run_tmp_create(dst, tmp, sizeof tmp));
    CHECK(access(d_dead, F_OK) != 0);
    vfri_remove_tree(tmp);

    /* duplicates: the earliest repeat, in O(n log n) */
    const char *names[] = {"b", "a", "c", "a", "b", "a"};
    int64_t i = -2, j = -2;
    CHECK(vfri_find_duplicate(names, 6, &i, &j) == 1 && i == 1 && j == 3);
    CHECK(vfri_find_duplicate(names, 3, &i, &j) == 0 && i == -1 && j == -1);
    CHECK(vfri_find_duplicate(names, 0, &i, &j) == 0);

    /* NULs in JSON: raw, escaped inside a string; an escaped backslash is not one */
    const char raw[] = "{\"a\":\n\"x\0y\"}";
    CHECK(vfri_json_nul_line(raw, sizeof raw - 1) == 2);
    CHECK(vfri_json_nul_line("{\"a\": \"x\\u0000y\"}", 17) == 1);
    CHECK(vfri_json_nul_line("{\"a\": \"x\\\\u0000y\"}", 18) == 0);
    CHECK(vfri_json_nul_line("{\"a\": \"\\\"\\u0000\"}", 17) == 1);

    names_and_paths(root);

    vfri_remove_tree(d_live);
    vfri_remove_tree(d_other);
    vfri_remove_tree(root);
    return test_done("test_runfolder");
}
