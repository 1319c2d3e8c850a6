/* cmd_inspect.c: `vfr inspect FILE.h5 [--json]`: shape, names, date range,
 * rows per symbol, and per-feature missing share, mean and std. Feature
 * values are read in row blocks, so memory stays bounded on large files;
 * the statistics run on the chosen device (--device). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "vfr/colstats.h"
#include "vfr/dataset.h"

static const char help[] =
    "usage: vfr inspect FILE.h5 [--json]\n\n"
    "Shows rows, features (names), symbols, the date range, rows per symbol\n"
    "(min/median/max), the missing share, mean and std of each feature, the\n"
    "forward-return horizons and the optional columns (close, quality).\n"
    "--json emits one JSON object on stdout.\n";

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0;
    const cli_option opts[] = {{.name = "--json", .kind = CLI_FLAG, .dest = &json}, {0}};
    int prc = cli_parse(argc, argv, help, opts, NULL, &path, 1);
    if (prc)
        return prc < 0 ? 0 : prc;
    if (!path)
        return cli_usage_error("which file? vfr inspect FILE.h5");
    vfr_device_kind dev;
    vfr_status st = vfr_device_resolve(cli.device, &dev);
    if (st != VFR_OK)
        return cli_fail(st);
    vfr_dataset *ds = NULL;
    if ((st = vfr_dataset_open(path, &ds)) != VFR_OK)
        return cli_fail(st);
    const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
    const int32_t F = m->F, S = m->S;
    const int64_t N = m->N, block = 1 << 18;
    size_t nf = F > 0 ? (size_t)F : 1;
    int64_t *per_sym = calloc(S > 0 ? (size_t)S : 1, sizeof *per_sym);
    int64_t *cnt = calloc(nf, sizeof *cnt), *pc = calloc(nf, sizeof *pc);
    double *mean = calloc(nf, sizeof *mean), *sd = calloc(nf, sizeof *sd);
    double *pm = calloc(nf, sizeof *pm), *ps = calloc(nf, sizeof *ps);
    float *buf = malloc(sizeof *buf * (size_t)(N < block ? (N ? N : 1) : block) * nf);
    int rc = 0;
    if (!per_sym || !cnt || !pc || !mean || !sd || !pm || !ps || !buf) {
        rc = cli_fail(vfr_fail(VFR_ERR_NOMEM, "inspect: out of memory"));
        goto done;
    }
    for (int64_t i = 0; i < N; i++)
        per_sym[m->symbol[i]]++;
    vfr_colstats acc = {cnt, mean, sd}, part = {pc, pm, ps};
    for (int64_t r0 = 0; r0 < N && F > 0; r0 += block) {
        int64_t r1 = r0 + block < N ? r0 + block : N;
        if ((st = vfr_dataset_read_features(ds, r0, r1, buf)) != VFR_OK ||
            (st = vfr_colstats_compute(dev, buf, r1 - r0, F, &part)) != VFR_OK) {
            rc = cli_fail(st);
            goto done;
        }
        vfr_colstats_merge(&acc, &part, F);
        vfr_report_progress(cli_reporter(), "inspect", (double)r1, (double)N);
    }
    qsort(per_sym, (size_t)S, sizeof *per_sym, cmp_i64);
    int64_t smin = S ? per_sym[0] : 0, smax = S ? per_sym[S - 1] : 0;
    double smed = S == 0 ? 0 : S % 2 ? (double)per_sym[S / 2]
                                     : 0.5 * (double)(per_sym[S / 2 - 1] + per_sym[S / 2]);
    char d0[11], d1[11];
    vfr_date_format(m->date_first, d0);
    vfr_date_format(m->date_last, d1);

    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "path", path);
        cJSON_AddNumberToObject(o, "rows", (double)N);
        cJSON_AddNumberToObject(o, "n_features", F);
        cJSON_AddNumberToObject(o, "n_symbols", S);
        cJSON_AddNumberToObject(o, "n_dates", m->T);
        cJSON_AddStringToObject(o, "date_first", N ? d0 : "");
        cJSON_AddStringToObject(o, "date_last", N ? d1 : "");
        cJSON *h = cJSON_AddArrayToObject(o, "horizons");
        for (int32_t k = 0; k < m->H; k++)
            cJSON_AddItemToArray(h, cJSON_CreateNumber(m->horizons[k]));
        cJSON_AddItemToObject(o, "symbols", cJSON_CreateStringArray(m->symbols, S));
        cJSON *rps = cJSON_AddObjectToObject(o, "rows_per_symbol");
        cJSON_AddNumberToObject(rps, "min", (double)smin);
        cJSON_AddNumberToObject(rps, "median", smed);
        cJSON_AddNumberToObject(rps, "max", (double)smax);
        cJSON *fs = cJSON_AddArrayToObject(o, "features");
        for (int32_t f = 0; f < F; f++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "name", m->feature_names[f]);
            cJSON_AddNumberToObject(e, "missing_share", N ? 1.0 - (double)cnt[f] / (double)N : 0);
            if (cnt[f]) {
                cJSON_AddNumberToObject(e, "mean", mean[f]);
                cJSON_AddNumberToObject(e, "std", sd[f]);
            } else {
                cJSON_AddNullToObject(e, "mean");
                cJSON_AddNullToObject(e, "std");
            }
            cJSON_AddItemToArray(fs, e);
        }
        cJSON_AddBoolToObject(o, "has_close", m->has_close);
        cJSON *q = cJSON_AddArrayToObject(o, "quality_components");
        for (int k = 0; k < VFR_QUALITY_COUNT; k++)
            if (m->quality_mask & (1u << k))
                cJSON_AddItemToArray(q, cJSON_CreateString(vfr_quality_name((vfr_quality)k)));
        char *s = cJSON_Print(o);
        puts(s);
        cJSON_free(s);
        cJSON_Delete(o);
    } else {
        printf("%s\n", path);
        printf("  rows      %lld\n", (long long)N);
        printf("  dates     %d (%s to %s)\n", m->T, N ? d0 : "-", N ? d1 : "-");
        printf("  symbols   %d:", S);
        for (int32_t s = 0; s < S && s < 12; s++)
            printf(" %s", m->symbols[s]);
        printf("%s\n", S > 12 ? " ..." : "");
        printf("  rows per symbol  min %lld, median %g, max %lld\n", (long long)smin, smed,
               (long long)smax);
        printf("  horizons  ");
        for (int32_t k = 0; k < m->H; k++)
            printf("%s%d", k ? "," : "", m->horizons[k]);
        printf("%s\n", m->H ? " (trading days)" : "none");
        printf("  close     %s\n", m->has_close ? "yes" : "no");
        printf("  quality   ");
        int any = 0;
        for (int k = 0; k < VFR_QUALITY_COUNT; k++)
            if (m->quality_mask & (1u << k))
                printf("%s%s", any++ ? "," : "", vfr_quality_name((vfr_quality)k));
        printf("%s\n", any ? "" : "none");
        printf("  features  %d\n", F);
        printf("    %-24s %9s %14s %14s\n", "name", "missing", "mean", "std");
        for (int32_t f = 0; f < F; f++)
            printf("    %-24s %8.2f%% %14.6g %14.6g\n", m->feature_names[f],
                   N ? 100.0 * (1.0 - (double)cnt[f] / (double)N) : 0.0, mean[f], sd[f]);
    }
done:
    vfr_dataset_close(ds);
    free(per_sym), free(cnt), free(pc), free(mean), free(sd), free(pm), free(ps), free(buf);
    return rc;
}
