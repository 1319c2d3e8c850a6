/* test_metrics_cli.c: `vfr evaluate` and `vfr backtest` end to end on a
 * predictions file this test writes: exit codes (0 ok, 2 bad input), JSON on
 * stdout that agrees with the library to the printed digit, the --out file,
 * --returns, and errors that name the file and field. Runs $VFR_BIN. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>

#define TEST_SEED 12345
#include "test_util.h"
#include "vfr/backtest.h"
#include "vfr/predictions.h"

static const char *vfr_bin(void)
{
    const char *b = getenv("VFR_BIN");
    return b && *b ? b : "./vfr";
}

/* Runs `vfr ARGS`, captures stdout into *out (malloc'ed), returns the exit code. */
static int run(const char *args, char **out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>%s/stderr.txt", vfr_bin(), args, test_tmpdir());
    FILE *f = popen(cmd, "r");
    if (!f) {
        perror("popen");
        exit(1);
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n < 1024)
            buf = realloc(buf, cap *= 2);
    }
    buf[n] = '\0';
    int status = pclose(f);
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *stderr_text(void)
{
    static char buf[4096];
    char path[512];
    snprintf(path, sizeof path, "%s/stderr.txt", test_tmpdir());
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
    return buf;
}


enum { T = 60, S = 12, M = 3, N = T * S };

int main(void)
{
    /* a classification predictions file: 60 dates x 12 symbols, 3 trials;
     * the last 20 dates are the test set */
    static int32_t date[N], symbol[N];
    static float score[M * N], label[N], fwd[N], fwd1[N];
    static int8_t set[N];
    char *syms[S], *names[M] = {"a", "b", "c"};
    char symbuf[S][8];
    for (int s = 0; s < S; s++) {
        snprintf(symbuf[s], sizeof symbuf[s], "S%02d", s);
        syms[s] = symbuf[s];
    }
    for (int i = 0; i < N; i++) {
        date[i] = 19000 + i / S;
        symbol[i] = i % S;
        fwd1[i] = (float)((test_urand() - 0.49) * 0.03);
        fwd[i] = fwd1[i] + (float)((test_urand() - 0.5) * 0.02);
        label[i] = fwd[i] > 0 ? 1.0f : 0.0f;
        set[i] = i / S < 40 ? VFR_SET_VALIDATION : VFR_SET_TEST;
        for (int m = 0; m < M; m++)
            score[m * N + i] = (float)(0.5 + (m == 0 ? 10 * fwd[i] : 0) + 0.2 * (test_urand() - 0.5));
    }
    vfr_predictions p = {N, M, S, 0, 5, VFR_TASK_CLASSIFICATION, syms, names, date, symbol,
                         NULL, score, label, fwd, fwd1, set, NULL, NULL};
    char path[512], out[512], args[2048];
    snprintf(path, sizeof path, "%s/pred.h5", test_tmpdir());
    snprintf(out, sizeof out, "%s/bt.h5", test_tmpdir());
    CHECK_OK(vfr_predictions_write(path, &p, 4));

    /* evaluate --json agrees with the library */
    char *txt = NULL;
    snprintf(args, sizeof args, "--device cpu evaluate --predictions '%s' --set test --json", path);
    CHECK(run(args, &txt) == 0);
    cJSON *j = cJSON_Parse(txt);
    CHECK(j != NULL);
    vfr_predictions *rd = NULL;
    CHECK_OK(vfr_predictions_read(path, VFR_SET_TEST, &rd));
    if (j && rd) {
        vfr_panel pn;
        vfr_predictions_panel(rd, &pn);
        vfr_metrics_options o;
        vfr_metrics_options_default(&o);
        double tab[M * VFR_METRIC_COUNT];
        CHECK_OK(vfr_metrics_batch_cpu(&pn, rd->score, M, &o, tab));
        CHECK(cJSON_GetObjectItem(j, "rows")->valuedouble == 20 * S);
        cJSON *m1 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "models"), 1);
        CHECK(strcmp(cJSON_GetObjectItem(m1, "name")->valuestring, "b") == 0);
        cJSON *mt = cJSON_GetObjectItem(m1, "metrics");
        CHECK(cJSON_GetObjectItem(mt, "roc_auc")->valuedouble == tab[VFR_METRIC_COUNT + VFR_METRIC_ROC_AUC]);
        CHECK(cJSON_GetObjectItem(mt, "rank_ic")->valuedouble == tab[VFR_METRIC_COUNT + VFR_METRIC_RANK_IC]);
        CHECK(cJSON_GetObjectItem(mt, "mse") == NULL); /* regression columns are not shown */
        cJSON *cm = cJSON_GetObjectItem(m1, "confusion_matrix");
        CHECK(cJSON_GetArrayItem(cJSON_GetArrayItem(cm, 1), 1)->valuedouble ==
              tab[VFR_METRIC_COUNT + VFR_METRIC_TP]);
    }
    cJSON_Delete(j);
    free(txt);
    snprintf(args, sizeof args, "--device cpu evaluate --predictions '%s'", path);
    CHECK(run(args, &txt) == 0);
    CHECK(strstr(txt, "roc_auc") && strstr(txt, "rank_icir"));
    free(txt);

    /* backtest --json --out agrees with the library, and the file holds the curves */
    snprintf(args, sizeof args,
             "--device cpu backtest --predictions '%s' --set all --strategy top_k --k 3 --cost-bps 5 --json --out '%s'",
             path, out);
    CHECK(run(args, &txt) == 0);
    j = cJSON_Parse(txt);
    CHECK(j != NULL);
    vfr_predictions_free(rd);
    rd = NULL;
    CHECK_OK(vfr_predictions_read(path, VFR_SET_ALL, &rd));
    if (j && rd) {
        vfr_panel pn;
        vfr_predictions_panel(rd, &pn);
        vfr_backtest_options o;
        vfr_backtest_options_default(&o);
        o.k = 3, o.cost_bps = 5, o.horizon = 5; /* the file's horizon */
        double met[M * VFR_FIN_COUNT], daily[M * T];
        CHECK_OK(vfr_backtest_cpu(&pn, rd->score, M, &o, met, daily));
        CHECK(cJSON_GetObjectItem(j, "horizon")->valuedouble == 5);
        cJSON *s0 = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "strategies"), 0),
                                        "metrics");
        CHECK(cJSON_GetObjectItem(s0, "sharpe")->valuedouble == met[VFR_FIN_SHARPE]);
        CHECK(cJSON_GetObjectItem(s0, "max_drawdown")->valuedouble == met[VFR_FIN_MAX_DRAWDOWN]);
        CHECK(met[VFR_FIN_SHARPE] > 0); /* trial a carries a planted signal */
        int32_t m2, t2;
        double *back;
        char **nm;
        CHECK_OK(vfr_backtest_read_returns(out, &m2, &t2, &back, &nm));
        CHECK(m2 == M && t2 == T && back && memcmp(back, daily, sizeof daily) == 0);
        CHECK(nm && strcmp(nm[2], "c") == 0);
        vfr_backtest_free_returns(back, nm, m2);
    }
    cJSON_Delete(j);
    free(txt);
    /* --returns: the metrics of the curves just written are the same */
    snprintf(args, sizeof args, "--device cpu backtest --returns '%s' --json", out);
    CHECK(run(args, &txt) == 0);
    j = cJSON_Parse(txt);
    if (j && rd) {
        cJSON *s0 = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "strategies"), 0),
                                        "metrics");
        double want = NAN;
        vfr_panel pn;
        vfr_predictions_panel(rd, &pn);
        vfr_backtest_options o;
        vfr_backtest_options_default(&o);
        o.k = 3, o.cost_bps = 5, o.horizon = 5;
        double met[M * VFR_FIN_COUNT];
        CHECK_OK(vfr_backtest_cpu(&pn, rd->score, M, &o, met, NULL));
        want = met[VFR_FIN_SORTINO];
        CHECK(cJSON_GetObjectItem(s0, "sortino")->valuedouble == want);
        CHECK(cJSON_IsNull(cJSON_GetObjectItem(s0, "turnover")));
    }
    cJSON_Delete(j);
    free(txt);
    snprintf(args, sizeof args, "backtest --predictions '%s' --strategy long_short_sign --set validation", path);
    CHECK(run(args, &txt) == 0);
    CHECK(strstr(txt, "sharpe") && strstr(txt, "threshold=0.5"));
    free(txt);

    /* bad input: exit 2, the message names the problem */
    snprintf(args, sizeof args, "backtest --predictions '%s' --strategy momentum", path);
    CHECK(run(args, NULL) == 2 && strstr(stderr_text(), "momentum"));
    snprintf(args, sizeof args, "backtest --predictions '%s' --k 0", path);
    CHECK(run(args, NULL) == 2 && strstr(stderr_text(), "--k"));
    CHECK(run("evaluate --predictions /nonexistent/p.h5", NULL) == 2 &&
          strstr(stderr_text(), "/nonexistent/p.h5"));
    CHECK(run("evaluate", NULL) == 2 && strstr(stderr_text(), "--predictions"));
    snprintf(args, sizeof args, "evaluate --predictions '%s' --set holdout", path);
    CHECK(run(args, NULL) == 2 && strstr(stderr_text(), "holdout"));
    /* a file without 1-day returns cannot be backtested over a 5-day horizon */
    p.fwd1 = NULL;
    CHECK_OK(vfr_predictions_write(path, &p, 0));
    snprintf(args, sizeof args, "backtest --predictions '%s'", path);
    CHECK(run(args, NULL) == 2 && strstr(stderr_text(), "forward_return_1"));
    CHECK(run("evaluate --help", NULL) == 0 && run("backtest --help", NULL) == 0);
    vfr_predictions_free(rd);
    return test_done("test_metrics_cli");
}
