/* champion.c: the champion baseline's source for the CLI: the registry at
 * --registry (or $VFR_REGISTRY, or ./vfr-registry), opened read-only and only
 * when a comparison asks for the champion; loaded models go through a small
 * hot-model cache. No registry there: the baseline is skipped with that note. */
#include <stddef.h>

#include "cli.h"
#include "vfr/model_cache.h"
#include "vfr/compare.h"
#include "vfr/registry.h"

typedef struct champion_ctx {
    const char *dir;
    vfr_registry *reg;
    vfr_model_cache *cache;
} champion_ctx;

static vfr_status score(void *user, const char *model_name, const float *X, const int64_t *prev_row,
                        int64_t n, int32_t F, float **out, char version[64])
{
    champion_ctx *c = user;
    vfr_status st;
    if (!c->reg) {
        if ((st = vfr_registry_open(c->dir, 0, &c->reg)) != VFR_OK)
            return st; /* its message names the folder */
        if ((st = vfr_model_cache_create((size_t)256 << 20, &c->cache)) != VFR_OK)
            return st;
    }
    return vfr_registry_champion_score(c->reg, c->cache, model_name, X, prev_row, n, F, out, version);
}

const vfr_champion_source *cli_champion_source(const char *registry_dir)
{
    /* one per process: the CLI runs one command */
    static champion_ctx ctx;
    static vfr_champion_source src = {score, &ctx};
    ctx.dir = registry_dir ? registry_dir : vfr_registry_default_dir();
    return &src;
}
