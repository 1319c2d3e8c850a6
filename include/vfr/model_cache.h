/* model_cache.h: the hot-model cache: an LRU of loaded models bounded by bytes.
 *
 * Each entry is a loaded vfr_model under a string key (the registry uses the
 * artifact's SHA-256) with a cost in bytes (the registry uses the artifact's
 * size). When a new entry would take the cached bytes over the budget, the
 * least recently used entries go first. Used by `vfr predict` and by the
 * champion baseline of a comparison. It is not a loader of its own: a miss
 * calls the caller's loader. Thread-safe: any number of threads may acquire
 * and release at once. */
#ifndef VFR_MODEL_CACHE_H
#define VFR_MODEL_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "vfr/model.h"
#include "vfr/status.h"

typedef struct vfr_model_cache vfr_model_cache;

typedef struct vfr_model_cache_stats {
    uint64_t hits;      /* acquires served from the cache                     */
    uint64_t misses;    /* acquires that called the loader                    */
    uint64_t evictions; /* entries pushed out to respect the budget           */
    size_t bytes;       /* summed cost of the entries cached now (<= budget)  */
    size_t budget;
    int64_t entries;    /* entries cached now                                 */
} vfr_model_cache_stats;

/* Loads the model for a miss. ctx is the caller's, passed through. OUT *out:
 * a model the cache then owns. Called without the cache's lock held. */
typedef vfr_status (*vfr_model_loader)(void *ctx, vfr_model **out);

/* budget_bytes: the most bytes of cost cached at once (> 0).
 * Errors: INVALID_ARG (budget 0), NOMEM. */
vfr_status vfr_model_cache_create(size_t budget_bytes, vfr_model_cache **out);
/* Destroys every model cached and any still acquired (release them first).
 * NULL is a no-op. */
void vfr_model_cache_destroy(vfr_model_cache *c);

/* The model for key: a hit moves it to the front; a miss calls load(ctx) and
 * caches the result with `cost` bytes, evicting least recently used entries
 * until it fits. An entry whose cost alone exceeds the budget is returned but
 * not cached (freed at its release). Two threads that miss the same key at
 * once both load; the first result is kept and the second destroyed. An
 * evicted model that is still acquired lives until its last release.
 * OUT *out: valid until vfr_model_cache_release; *hit (may be NULL): 1 on a
 * hit. Errors: INVALID_ARG (empty key), NOMEM, and whatever load returns. */
vfr_status vfr_model_cache_acquire(vfr_model_cache *c, const char *key, size_t cost,
                                   vfr_model_loader load, void *ctx, vfr_model **out, int *hit);

/* Gives back a model from acquire. With c NULL it destroys m (so a caller
 * that loads without a cache releases the same way). NULL m is a no-op. */
void vfr_model_cache_release(vfr_model_cache *c, vfr_model *m);

/* 1 when key is cached now (does not count as a hit or touch the order). */
int vfr_model_cache_contains(vfr_model_cache *c, const char *key);

void vfr_model_cache_stats_get(vfr_model_cache *c, vfr_model_cache_stats *out);

#endif
