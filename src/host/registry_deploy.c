/* registry_deploy.c: the validation gate and the alias moves (registry.h):
 * deploy as champion or challenger, promote, rollback, ending an A/B test,
 * and the job's autoDeploy. The gate runs before the move's transaction (it
 * loads and runs the model, which must not hold the write lock); the move
 * re-reads what it depends on under the lock. A failed check moves nothing. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "registry_internal.h"
#include "util.h"
#include "vfr/probe.h"

/* ---- the validation gate ------------------------------------------------------- */

void reg_model_config(const vfr_registry_version *v, vfr_model_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->type = v->model_type;
    cfg->params_json = "{}";
    cfg->objective = v->objective;
    cfg->device = VFR_DEVICE_CPU;
    cfg->F = v->F;
    cfg->feature_names = (const char *const *)v->feature_names;
}

static vfr_registry_check_result *add_check(vfr_registry_validation *val, const char *name)
{
    vfr_registry_check_result *c = &val->checks[val->n++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->status = -1;
    c->value = c->limit = NAN;
    return c;
}

static void appendf(char *buf, size_t cap, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void appendf(char *buf, size_t cap, const char *fmt, ...)
{
    size_t len = strlen(buf);
    if (len + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
}

/* metrics.json value at a dotted path ("backtest.model.sharpe"), or NULL. */
static const cJSON *metric_at(const cJSON *m, const char *path)
{
    char key[256];
    const cJSON *x = m;
    while (x && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof key)
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        x = cJSON_GetObjectItemCaseSensitive(x, key);
        path += n + (path[n] == '.');
    }
    return x;
}

/* Applies {"path": {"min": a, "max": b}} (a bare number is a minimum). */
static void apply_thresholds(const cJSON *metrics, const cJSON *thr, const char *from, int *evaluated,
                             int *failed, char *detail, size_t cap)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, thr)
    {
        const cJSON *v = metric_at(metrics, t->string);
        const cJSON *lo = cJSON_IsNumber(t) ? t : cJSON_GetObjectItemCaseSensitive(t, "min");
        const cJSON *hi = cJSON_GetObjectItemCaseSensitive(t, "max");
        (*evaluated)++;
        if (!cJSON_IsNumber(v)) {
            (*failed)++;
            appendf(detail, cap, "%s%s threshold %s: not a number in metrics.json", *failed > 1 ? "; " : "", from,
                    t->string);
            continue;
        }
        double x = v->valuedouble;
        if (cJSON_IsNumber(lo) && !(x >= lo->valuedouble)) {
            (*failed)++;
            appendf(detail, cap, "%s%s threshold %s = %.6g is below the minimum %.6g", *failed > 1 ? "; " : "", from,
                    t->string, x, lo->valuedouble);
        } else if (cJSON_IsNumber(hi) && !(x <= hi->valuedouble)) {
            (*failed)++;
            appendf(detail, cap, "%s%s threshold %s = %.6g is above the maximum %.6g", *failed > 1 ? "; " : "", from,
                    t->string, x, hi->valuedouble);
        }
    }
}

/* The metrics check: the job's absolute thresholds on the model's own
 * backtest (baseline.minSharpe, baseline.maxDrawdown: the rule's checks that
 * need no other model) and the gate's thresholds. The comparison's verdict
 * against baselines (shouldDeploy) is what autoDeploy follows; the gate
 * reports it but does not repeat it, so that a person can deploy a model the
 * rule would not have deployed automatically. */
static void check_metrics(const vfr_registry_version *v, const cJSON *gate_thr, vfr_registry_check_result *c)
{
    int evaluated = 0, failed = 0;
    char detail[sizeof c->detail] = "";
    cJSON *metrics = cJSON_Parse(v->metrics_json ? v->metrics_json : "{}");
    cJSON *cmp = v->comparison_json ? cJSON_Parse(v->comparison_json) : NULL;
    cJSON *job = v->job_json ? cJSON_Parse(v->job_json) : NULL;
    const cJSON *base = cJSON_GetObjectItemCaseSensitive(job, "baseline");
    const cJSON *min_sharpe = cJSON_GetObjectItemCaseSensitive(base, "minSharpe");
    const cJSON *max_dd = cJSON_GetObjectItemCaseSensitive(base, "maxDrawdown");
    const cJSON *sharpe = metric_at(metrics, "backtest.model.sharpe");
    const cJSON *dd = metric_at(metrics, "backtest.model.max_drawdown");
    if (cJSON_IsNumber(min_sharpe)) {
        evaluated++;
        if (!cJSON_IsNumber(sharpe) || !(sharpe->valuedouble > min_sharpe->valuedouble)) {
            failed++;
            appendf(detail, sizeof detail, "job baseline.minSharpe: the backtest's Sharpe %.4g is not above %.4g",
                    cJSON_IsNumber(sharpe) ? sharpe->valuedouble : NAN, min_sharpe->valuedouble);
        }
    }
    if (cJSON_IsNumber(max_dd)) { /* metrics.json keeps drawdowns positive; the job, as a negative return */
        evaluated++;
        if (!cJSON_IsNumber(dd) || !(-fabs(dd->valuedouble) > max_dd->valuedouble)) {
            failed++;
            appendf(detail, sizeof detail, "%sjob baseline.maxDrawdown: the backtest's max drawdown %.4g is not above %.4g",
                    failed > 1 ? "; " : "", cJSON_IsNumber(dd) ? -fabs(dd->valuedouble) : NAN, max_dd->valuedouble);
        }
    }
    if (cJSON_IsObject(gate_thr))
        apply_thresholds(metrics, gate_thr, "gate", &evaluated, &failed, detail, sizeof detail);
    c->status = failed == 0;
    c->value = failed;
    c->limit = 0;
    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(cmp, "decision");
    const cJSON *should = cJSON_GetObjectItemCaseSensitive(dec, "shouldDeploy");
    char verdict[96];
    snprintf(verdict, sizeof verdict, "; the comparison (autoDeploy's rule) says shouldDeploy = %s",
             !cmp ? "none: no comparison.json" : cJSON_IsTrue(should) ? "true" : "false");
    if (failed)
        snprintf(c->detail, sizeof c->detail, "%s", detail);
    else if (!evaluated)
        snprintf(c->detail, sizeof c->detail, "no thresholds to check%s", verdict);
    else
        snprintf(c->detail, sizeof c->detail, "%d of %d thresholds met%s", evaluated, evaluated, verdict);
    cJSON_Delete(metrics), cJSON_Delete(cmp), cJSON_Delete(job);
}

static int same_value(float a, float b, double tol, double *diff)
{
    if (isnan(a) || isnan(b)) {
        *diff = isnan(a) && isnan(b) ? 0 : INFINITY;
        return isnan(a) && isnan(b);
    }
    *diff = fabs((double)a - (double)b);
    return *diff <= tol;
}

static vfr_status run_validation(vfr_registry *reg, const vfr_registry_version *v, const vfr_registry_gate *g,
                                 const cJSON *gate_thr, vfr_registry_validation *val)
{
    memset(val, 0, sizeof *val);
    snprintf(val->name, sizeof val->name, "%s", v->name);
    snprintf(val->version, sizeof val->version, "%s", v->version);
    int64_t max_bytes = g && g->max_artifact_bytes > 0 ? g->max_artifact_bytes : VFR_REGISTRY_MAX_ARTIFACT_BYTES;
    double max_ms = g && g->max_load_ms > 0 ? g->max_load_ms : VFR_REGISTRY_MAX_LOAD_MS;
    double tol = g && g->parity_tol > 0 ? g->parity_tol : VFR_REGISTRY_PARITY_TOL;

    vfr_registry_check_result *cm = add_check(val, "metrics");
    check_metrics(v, gate_thr, cm);

    vfr_registry_check_result *cs = add_check(val, "artifact_size");
    cs->value = (double)v->artifact_bytes;
    cs->limit = (double)max_bytes;
    cs->status = v->artifact_bytes <= max_bytes;
    snprintf(cs->detail, sizeof cs->detail, "%lld bytes, limit %lld", (long long)v->artifact_bytes,
             (long long)max_bytes);

    vfr_registry_check_result *ci = add_check(val, "integrity");
    vfr_status st = reg_verify_object(reg, v->artifact_sha256, "artifact");
    if (st == VFR_OK && v->probe_sha256[0])
        st = reg_verify_object(reg, v->probe_sha256, "probe set");
    ci->status = st == VFR_OK;
    snprintf(ci->detail, sizeof ci->detail, "%s",
             st == VFR_OK ? "artifact and probe set match their SHA-256" : vfr_last_error());

    vfr_registry_check_result *cl = add_check(val, "load_time");
    vfr_registry_check_result *cp = add_check(val, "prediction_parity");
    vfr_registry_check_result *cn = add_check(val, "no_nan");
    cl->limit = max_ms;
    cp->limit = tol;
    cn->limit = 0;
    vfr_model *m = NULL;
    vfr_probe *probe = NULL;
    float *score = NULL;
    if (!ci->status) {
        snprintf(cl->detail, sizeof cl->detail, "not run: integrity failed");
        snprintf(cp->detail, sizeof cp->detail, "not run: integrity failed");
        snprintf(cn->detail, sizeof cn->detail, "not run: integrity failed");
        goto done;
    }
    char path[4400];
    vfr_registry_object_path(reg, v->artifact_sha256, path, sizeof path);
    vfr_model_config cfg;
    reg_model_config(v, &cfg);
    vfr_model_preload(v->model_type); /* the library's dlopen is once per process, not per load */
    vfr_error_clear();
    /* A first load pays the process's one-time start-up (thread pools, the
     * library's globals) and proves the artifact loads; then the fastest of
     * three loads from the stored file is the artifact's cold load time, so
     * that a busy neighbour does not fail a deploy. */
    double ms = INFINITY;
    st = vfr_model_load(&cfg, path, &m);
    for (int k = 0; k < 3 && st == VFR_OK; k++) {
        vfr_model_destroy(m);
        m = NULL;
        double t0 = vfri_seconds();
        st = vfr_model_load(&cfg, path, &m);
        double t = (vfri_seconds() - t0) * 1e3;
        ms = t < ms ? t : ms;
    }
    if (st != VFR_OK) {
        cl->status = 0;
        snprintf(cl->detail, sizeof cl->detail, "the artifact does not load: %s", vfr_last_error());
        snprintf(cp->detail, sizeof cp->detail, "not run: the artifact does not load");
        snprintf(cn->detail, sizeof cn->detail, "not run: the artifact does not load");
        goto done;
    }
    cl->value = ms;
    cl->status = ms <= max_ms;
    snprintf(cl->detail, sizeof cl->detail, "cold load %.2f ms (fastest of 3), limit %.0f ms", ms, max_ms);

    if (!v->probe_sha256[0]) {
        cp->status = cn->status = 0;
        snprintf(cp->detail, sizeof cp->detail, "no probe set was stored with this version (the run had no probe.h5)");
        snprintf(cn->detail, sizeof cn->detail, "not run: no probe set");
        goto done;
    }
    vfr_registry_object_path(reg, v->probe_sha256, path, sizeof path);
    if ((st = vfr_probe_read(path, &probe)) == VFR_OK && probe->F != v->F && v->F > 0)
        st = vfr_fail(VFR_ERR_FORMAT, "the probe set has %d features, the model %d", probe->F, v->F);
    if (st == VFR_OK && !(score = malloc(sizeof *score * (size_t)(probe->n ? probe->n : 1))))
        st = vfr_fail(VFR_ERR_NOMEM, "out of memory");
    if (st == VFR_OK)
        st = vfr_probe_predict(m, probe, score);
    if (st != VFR_OK) {
        cp->status = cn->status = 0;
        snprintf(cp->detail, sizeof cp->detail, "cannot predict the probe set: %s", vfr_last_error());
        snprintf(cn->detail, sizeof cn->detail, "not run: the probe set was not predicted");
        goto done;
    }
    double worst = 0;
    int64_t worst_row = 0, first_bad = -1, nan_rows = 0, first_nan = -1;
    for (int64_t i = 0; i < probe->n; i++) {
        double d;
        if (!same_value(score[i], probe->score[i], tol, &d) && first_bad < 0)
            first_bad = i;
        if (d > worst) {
            worst = d;
            worst_row = i;
        }
        if (isfinite(probe->score[i]) && !isfinite(score[i]) && nan_rows++ == 0)
            first_nan = i;
    }
    cp->value = worst;
    cp->status = first_bad < 0;
    if (cp->status)
        snprintf(cp->detail, sizeof cp->detail, "%lld probe rows reproduced, max |diff| %.3g (tolerance %.0e)",
                 (long long)probe->n, worst, tol);
    else
        snprintf(cp->detail, sizeof cp->detail,
                 "probe row %lld: stored %.9g, the loaded artifact gives %.9g (|diff| %.3g > %.0e)",
                 (long long)worst_row, probe->score[worst_row], score[worst_row], worst, tol);
    cn->value = (double)nan_rows;
    cn->status = nan_rows == 0;
    if (nan_rows)
        snprintf(cn->detail, sizeof cn->detail, "%lld non-finite predictions (first: probe row %lld)",
                 (long long)nan_rows, (long long)first_nan);
    else
        snprintf(cn->detail, sizeof cn->detail, "%lld predictions, all finite", (long long)probe->n);
done:
    vfr_model_destroy(m);
    vfr_probe_free(probe);
    free(score);
    vfr_error_clear();
    val->passed = 1;
    char failed[1024] = "";
    for (int i = 0; i < val->n; i++)
        if (val->checks[i].status != 1) {
            val->passed = 0;
            if (val->checks[i].status == 0)
                appendf(failed, sizeof failed, "%s%s (%s)", failed[0] ? "; " : "", val->checks[i].name,
                        val->checks[i].detail);
        }
    if (!val->passed)
        return vfr_fail(VFR_ERR_VALIDATION, "%s:%s failed validation: %s", v->name, v->version, failed);
    return VFR_OK;
}

static vfr_status parse_gate(const vfr_registry_gate *g, cJSON **thr)
{
    *thr = NULL;
    if (!g || !g->thresholds_json)
        return VFR_OK;
    *thr = cJSON_Parse(g->thresholds_json);
    if (!*thr || !cJSON_IsObject(*thr)) {
        cJSON_Delete(*thr);
        *thr = NULL;
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "thresholds: want a JSON object like {\"test.accuracy\": {\"min\": 0.52}}");
    }
    return VFR_OK;
}

static vfr_status validate_version(vfr_registry *reg, const vfr_registry_version *v, const vfr_registry_gate *g,
                                   vfr_registry_validation *out)
{
    vfr_registry_validation local;
    cJSON *thr;
    vfr_status st = parse_gate(g, &thr);
    if (st != VFR_OK)
        return st;
    st = run_validation(reg, v, g, thr, out ? out : &local);
    cJSON_Delete(thr);
    return st;
}

vfr_status vfr_registry_validate(vfr_registry *reg, const char *name, const char *version,
                                 const vfr_registry_gate *gate, vfr_registry_validation *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    int64_t mid;
    vfr_registry_version *v = NULL;
    vfr_status st = reg_model_id(reg, name, &mid);
    if (st == VFR_OK)
        st = reg_version_by_name(reg, mid, name, version, &v);
    if (st == VFR_OK)
        st = validate_version(reg, v, gate, out);
    vfr_registry_version_free(v);
    return st;
}

char *vfr_registry_validation_json(const vfr_registry_validation *v)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", v->name);
    cJSON_AddStringToObject(o, "version", v->version);
    cJSON_AddBoolToObject(o, "passed", v->passed);
    cJSON *arr = cJSON_AddArrayToObject(o, "checks");
    for (int i = 0; i < v->n; i++) {
        const vfr_registry_check_result *c = &v->checks[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", c->name);
        cJSON_AddStringToObject(x, "status", c->status == 1 ? "passed" : c->status == 0 ? "failed" : "not run");
        if (isfinite(c->value))
            cJSON_AddNumberToObject(x, "value", c->value);
        else
            cJSON_AddNullToObject(x, "value");
        if (isfinite(c->limit))
            cJSON_AddNumberToObject(x, "limit", c->limit);
        else
            cJSON_AddNullToObject(x, "limit");
        cJSON_AddStringToObject(x, "detail", c->detail);
        cJSON_AddItemToArray(arr, x);
    }
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    return s;
}

/* ---- alias moves ------------------------------------------------------------------ */

static vfr_status history(vfr_registry *reg, int64_t mid, const char *alias, const char *action, int64_t from,
                          int64_t to, double traffic, int forced, const char *who, const char *now,
                          const char *reason)
{
    return db_exec(reg->db, NULL,
                   "INSERT INTO alias_history(model_id, alias, action, from_version_id, to_version_id, traffic, "
                   "forced, who, at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   "issvvdisss", mid, alias, action, from, to, traffic, (int64_t)(forced != 0), who, now,
                   reason ? reason : "");
}

static vfr_status set_alias(vfr_registry *reg, int64_t mid, const char *alias, int64_t vid, double traffic,
                            const char *now)
{
    return db_exec(reg->db, NULL,
                   "INSERT INTO aliases(model_id, alias, version_id, traffic, updated_at) VALUES (?, ?, ?, ?, ?) "
                   "ON CONFLICT(model_id, alias) DO UPDATE SET version_id = excluded.version_id, "
                   "traffic = excluded.traffic, updated_at = excluded.updated_at",
                   "isids", mid, alias, vid, traffic, now);
}

static vfr_status drop_alias(vfr_registry *reg, int64_t mid, const char *alias)
{
    return db_exec(reg->db, NULL, "DELETE FROM aliases WHERE model_id = ? AND alias = ?", "is", mid, alias);
}

static vfr_status end_ab(vfr_registry *reg, int64_t mid, const char *now, const char *outcome)
{
    return db_exec(reg->db, NULL,
                   "UPDATE ab_tests SET ended_at = ?, outcome = ? WHERE model_id = ? AND ended_at IS NULL", "ssi", now,
                   outcome, mid);
}

/* Runs the gate unless forced; fills val either way. */
static vfr_status gate(vfr_registry *reg, const vfr_registry_version *v, const vfr_registry_deploy_options *o,
                       vfr_registry_validation *val)
{
    if (o && o->force) {
        if (val) {
            memset(val, 0, sizeof *val);
            snprintf(val->name, sizeof val->name, "%s", v->name);
            snprintf(val->version, sizeof val->version, "%s", v->version);
            val->passed = 1; /* not run: --force */
        }
        return VFR_OK;
    }
    return validate_version(reg, v, o ? o->gate : NULL, val);
}

vfr_status vfr_registry_deploy(vfr_registry *reg, const char *name, const char *version,
                               const vfr_registry_deploy_options *o, vfr_registry_validation *val)
{
    static const vfr_registry_deploy_options defaults = {0};
    if (!o)
        o = &defaults;
    if (val)
        memset(val, 0, sizeof *val);
    double traffic = o->traffic > 0 ? o->traffic : 0.1;
    if (o->as == VFR_REGISTRY_CHALLENGER && !(traffic > 0 && traffic <= 1))
        return vfr_fail(VFR_ERR_INVALID_ARG, "--traffic %g: want a share in (0, 1]", o->traffic);
    if (o->as != VFR_REGISTRY_CHAMPION && o->as != VFR_REGISTRY_CHALLENGER)
        return vfr_fail(VFR_ERR_INVALID_ARG, "unknown alias %d", (int)o->as);
    const char *alias = vfr_registry_alias_name(o->as);
    int64_t mid, champ = 0, cur = 0;
    double cur_traffic = 0;
    vfr_registry_version *v = NULL;
    char who[64], now[32];
    reg_who(o->who, who);
    vfr_status st = reg_model_id(reg, name, &mid);
    if (st == VFR_OK)
        st = reg_version_by_name(reg, mid, name, version, &v);
    if (st != VFR_OK)
        return st;
    /* bad requests are refused before the (slow) gate */
    VFR_TRY(reg_alias_get(reg, mid, "champion", &champ, NULL));
    if (o->as == VFR_REGISTRY_CHALLENGER && !champ) {
        st = vfr_fail(VFR_ERR_INVALID_ARG, "model '%s' has no champion: deploy one before a challenger", name);
        goto fail;
    }
    if (o->as == VFR_REGISTRY_CHALLENGER && champ == v->id) {
        st = vfr_fail(VFR_ERR_INVALID_ARG, "%s:%s is the champion; a challenger must be another version", name,
                      version);
        goto fail;
    }
    VFR_TRY(gate(reg, v, o, val));

    VFR_TRY(db_begin(reg->db));
    vfri_utc_now(now);
    VFR_TRY(reg_alias_get(reg, mid, "champion", &champ, NULL));
    VFR_TRY(reg_alias_get(reg, mid, alias, &cur, &cur_traffic));
    if (o->as == VFR_REGISTRY_CHAMPION) {
        if (cur != v->id) {
            int64_t chal = 0;
            VFR_TRY(set_alias(reg, mid, alias, v->id, NAN, now));
            VFR_TRY(history(reg, mid, alias, "deploy", cur, v->id, NAN, o->force, who, now, o->reason));
            VFR_TRY(reg_alias_get(reg, mid, "challenger", &chal, NULL));
            if (chal == v->id) { /* the challenger made champion by hand: its test is over */
                VFR_TRY(drop_alias(reg, mid, "challenger"));
                VFR_TRY(history(reg, mid, "challenger", "promote", chal, 0, NAN, o->force, who, now, o->reason));
                VFR_TRY(end_ab(reg, mid, now, "promoted"));
            }
        }
    } else {
        if (!champ || champ == v->id) {
            st = vfr_fail(VFR_ERR_INVALID_ARG, "model '%s': the champion changed meanwhile; deploy again", name);
            goto fail;
        }
        if (cur != v->id || fabs(cur_traffic - traffic) > 1e-12) {
            VFR_TRY(end_ab(reg, mid, now, "replaced"));
            VFR_TRY(db_exec(reg->db, NULL,
                            "INSERT INTO ab_tests(model_id, champion_version_id, challenger_version_id, traffic, "
                            "started_at, started_by) VALUES (?, ?, ?, ?, ?, ?)",
                            "iiidss", mid, champ, v->id, traffic, now, who));
            VFR_TRY(set_alias(reg, mid, alias, v->id, traffic, now));
            VFR_TRY(history(reg, mid, alias, "deploy", cur, v->id, traffic, o->force, who, now, o->reason));
        }
    }
    reg_fault("deploy", "before_commit");
    VFR_TRY(db_commit(reg->db));
    reg_fault("deploy", "after_commit");
    vfr_registry_version_free(v);
    return VFR_OK;
fail:
    db_rollback(reg->db);
    vfr_registry_version_free(v);
    return st;
}

vfr_status vfr_registry_promote(vfr_registry *reg, const char *name, const vfr_registry_deploy_options *o,
                                vfr_registry_validation *val, char version[32])
{
    static const vfr_registry_deploy_options defaults = {0};
    if (!o)
        o = &defaults;
    if (version)
        version[0] = '\0';
    if (val)
        memset(val, 0, sizeof *val);
    int64_t mid, chal = 0, champ = 0, again = 0;
    vfr_registry_version *v = NULL;
    char who[64], now[32];
    reg_who(o->who, who);
    vfr_status st = reg_model_id(reg, name, &mid);
    if (st != VFR_OK)
        return st;
    VFR_TRY(reg_alias_get(reg, mid, "challenger", &chal, NULL));
    if (!chal) {
        st = vfr_fail(VFR_ERR_NOT_FOUND, "model '%s' has no challenger to promote (no A/B test is running)", name);
        goto fail;
    }
    VFR_TRY(reg_version_by_id(reg, chal, &v));
    VFR_TRY(gate(reg, v, o, val));
    VFR_TRY(db_begin(reg->db));
    vfri_utc_now(now);
    VFR_TRY(reg_alias_get(reg, mid, "challenger", &again, NULL));
    if (again != chal) {
        st = vfr_fail(VFR_ERR_INVALID_ARG, "model '%s': the challenger changed meanwhile; promote again", name);
        goto fail;
    }
    VFR_TRY(reg_alias_get(reg, mid, "champion", &champ, NULL));
    VFR_TRY(set_alias(reg, mid, "champion", chal, NAN, now));
    VFR_TRY(history(reg, mid, "champion", "promote", champ, chal, NAN, o->force, who, now, o->reason));
    VFR_TRY(drop_alias(reg, mid, "challenger"));
    VFR_TRY(history(reg, mid, "challenger", "promote", chal, 0, NAN, o->force, who, now, o->reason));
    VFR_TRY(end_ab(reg, mid, now, "promoted"));
    reg_fault("promote", "before_commit");
    VFR_TRY(db_commit(reg->db));
    reg_fault("promote", "after_commit");
    if (version)
        snprintf(version, 32, "%s", v->version);
    vfr_registry_version_free(v);
    return VFR_OK;
fail:
    db_rollback(reg->db);
    vfr_registry_version_free(v);
    return st;
}

/* The champion before `cur`: the from-version of the latest deploy or
 * promote that made `cur` the champion; 0 when there is none. */
static vfr_status previous_champion(vfr_registry *reg, int64_t mid, int64_t cur, int64_t *prev)
{
    *prev = 0;
    db_stmt *s;
    vfr_status st = db_prepare(reg->db, &s,
                               "SELECT from_version_id FROM alias_history WHERE model_id = ? AND alias = 'champion' "
                               "AND to_version_id = ? AND action IN ('deploy', 'promote') ORDER BY id DESC LIMIT 1",
                               "ii", mid, cur);
    if (st != VFR_OK)
        return st;
    if (db_step(s) == 1)
        *prev = db_int(s, 0); /* NULL reads as 0 */
    db_finalize(s);
    return st;
}

vfr_status vfr_registry_rollback(vfr_registry *reg, const char *name, const vfr_registry_deploy_options *o,
                                 vfr_registry_validation *val, char version[32])
{
    static const vfr_registry_deploy_options defaults = {0};
    if (!o)
        o = &defaults;
    if (version)
        version[0] = '\0';
    if (val)
        memset(val, 0, sizeof *val);
    int64_t mid, champ = 0, prev = 0, again = 0, chal = 0;
    vfr_registry_version *v = NULL;
    char who[64], now[32];
    reg_who(o->who, who);
    vfr_status st = reg_model_id(reg, name, &mid);
    if (st != VFR_OK)
        return st;
    VFR_TRY(reg_alias_get(reg, mid, "champion", &champ, NULL));
    if (!champ) {
        st = vfr_fail(VFR_ERR_NOT_FOUND, "model '%s' has no champion to roll back", name);
        goto fail;
    }
    VFR_TRY(previous_champion(reg, mid, champ, &prev));
    if (!prev) {
        st = vfr_fail(VFR_ERR_NOT_FOUND,
                      "model '%s': the history has no champion before the current one (see vfr models history %s)",
                      name, name);
        goto fail;
    }
    VFR_TRY(reg_version_by_id(reg, prev, &v));
    VFR_TRY(gate(reg, v, o, val));
    VFR_TRY(db_begin(reg->db));
    vfri_utc_now(now);
    VFR_TRY(reg_alias_get(reg, mid, "champion", &again, NULL));
    if (again != champ) {
        st = vfr_fail(VFR_ERR_INVALID_ARG, "model '%s': the champion changed meanwhile; roll back again", name);
        goto fail;
    }
    VFR_TRY(set_alias(reg, mid, "champion", prev, NAN, now));
    VFR_TRY(history(reg, mid, "champion", "rollback", champ, prev, NAN, o->force, who, now, o->reason));
    VFR_TRY(reg_alias_get(reg, mid, "challenger", &chal, NULL));
    if (chal == prev) { /* a challenger cannot be the champion too */
        VFR_TRY(drop_alias(reg, mid, "challenger"));
        VFR_TRY(history(reg, mid, "challenger", "rollback", chal, 0, NAN, o->force, who, now, o->reason));
        VFR_TRY(end_ab(reg, mid, now, "ended by rollback"));
    }
    reg_fault("rollback", "before_commit");
    VFR_TRY(db_commit(reg->db));
    reg_fault("rollback", "after_commit");
    if (version)
        snprintf(version, 32, "%s", v->version);
    vfr_registry_version_free(v);
    return VFR_OK;
fail:
    db_rollback(reg->db);
    vfr_registry_version_free(v);
    return st;
}

vfr_status vfr_registry_ab_stop(vfr_registry *reg, const char *name, const char *reason, const char *who_in)
{
    int64_t mid, chal = 0;
    char who[64], now[32];
    reg_who(who_in, who);
    vfr_status st = reg_model_id(reg, name, &mid);
    if (st != VFR_OK)
        return st;
    VFR_TRY(db_begin(reg->db));
    vfri_utc_now(now);
    VFR_TRY(reg_alias_get(reg, mid, "challenger", &chal, NULL));
    if (!chal) {
        st = vfr_fail(VFR_ERR_NOT_FOUND, "model '%s' has no A/B test running", name);
        goto fail;
    }
    VFR_TRY(drop_alias(reg, mid, "challenger"));
    VFR_TRY(history(reg, mid, "challenger", "ab_stop", chal, 0, NAN, 0, who, now, reason));
    VFR_TRY(end_ab(reg, mid, now, "stopped"));
    return db_commit(reg->db);
fail:
    db_rollback(reg->db);
    return st;
}

vfr_status vfr_registry_auto_deploy(vfr_registry *reg, const char *name, const char *version,
                                    const vfr_registry_deploy_options *o, vfr_registry_validation *val,
                                    vfr_registry_auto_result *res)
{
    memset(res, 0, sizeof *res);
    if (val)
        memset(val, 0, sizeof *val);
    vfr_registry_deploy_options d = {0};
    if (o)
        d = *o;
    d.force = 0;
    int64_t mid;
    vfr_registry_version *v = NULL;
    vfr_status st = reg_model_id(reg, name, &mid);
    if (st == VFR_OK)
        st = reg_version_by_name(reg, mid, name, version, &v);
    if (st != VFR_OK)
        return st;
    cJSON *cmp = v->comparison_json ? cJSON_Parse(v->comparison_json) : NULL;
    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(cmp, "decision");
    const cJSON *should = cJSON_GetObjectItemCaseSensitive(dec, "shouldDeploy");
    const cJSON *why = cJSON_GetObjectItemCaseSensitive(dec, "reason");
    const char *reason = cJSON_IsString(why) ? why->valuestring : "";
    if (!cmp) {
        snprintf(res->why, sizeof res->why, "not deployed: %s:%s has no comparison.json, so no deployment decision",
                 name, version);
    } else if (!cJSON_IsTrue(should)) {
        snprintf(res->why, sizeof res->why, "not deployed: the comparison says shouldDeploy = false (%s)", reason);
    } else {
        if (!d.reason)
            d.reason = reason;
        st = vfr_registry_deploy(reg, name, version, &d, val);
        if (st == VFR_OK) {
            res->deployed = 1;
            snprintf(res->why, sizeof res->why, "deployed %s:%s as %s: %s", name, version,
                     vfr_registry_alias_name(d.as), reason);
        } else if (st == VFR_ERR_VALIDATION) {
            snprintf(res->why, sizeof res->why, "not deployed: %s", vfr_last_error());
            vfr_error_clear();
            st = VFR_OK;
        }
    }
    cJSON_Delete(cmp);
    vfr_registry_version_free(v);
    return st;
}

/* ---- A/B routing ----------------------------------------------------------------- */

double vfr_registry_route_bucket(const char *model, const char *symbol)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64: offset basis, prime 0x100000001b3 */
    for (const unsigned char *p = (const unsigned char *)model; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    h = (h ^ (unsigned char)'\n') * 1099511628211ULL;
    for (const unsigned char *p = (const unsigned char *)symbol; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    /* SplitMix64's finaliser: FNV's low-entropy high bits get mixed */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return (double)(h >> 11) * (1.0 / 9007199254740992.0); /* top 53 bits / 2^53 */
}
