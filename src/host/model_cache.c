/* model_cache.c: the hot-model cache (model_cache.h): a doubly linked LRU list under one
 * mutex. Entries are few (models that fit in memory at once), so lookups walk
 * the list; that costs far less than a model's predict call. Models evicted
 * while acquired move to a detached list and are freed at their last release.
 * Loading happens outside the lock, so a slow load does not stall hits. */
#include "vfr/model_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct entry {
    struct entry *prev, *next;
    char *key;
    vfr_model *model;
    size_t cost;
    int64_t refs;
    int cached; /* in the LRU list (else detached) */
} entry;

struct vfr_model_cache {
    pthread_mutex_t mu;
    entry *head, *tail; /* head = most recently used */
    entry *detached;    /* singly linked through next: evicted or oversize, still acquired */
    size_t budget, bytes;
    int64_t entries;
    uint64_t hits, misses, evictions;
};

vfr_status vfr_model_cache_create(size_t budget_bytes, vfr_model_cache **out)
{
    *out = NULL;
    if (budget_bytes == 0)
        return vfr_fail(VFR_ERR_INVALID_ARG, "model cache: the byte budget must be > 0");
    vfr_model_cache *c = calloc(1, sizeof *c);
    if (!c)
        return vfr_fail(VFR_ERR_NOMEM, "model cache: out of memory");
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        return vfr_fail(VFR_ERR_INTERNAL, "model cache: cannot create a mutex");
    }
    c->budget = budget_bytes;
    *out = c;
    return VFR_OK;
}

static void entry_free(entry *e)
{
    vfr_model_destroy(e->model);
    free(e->key);
    free(e);
}

void vfr_model_cache_destroy(vfr_model_cache *c)
{
    if (!c)
        return;
    for (entry *e = c->head, *n; e; e = n) {
        n = e->next;
        entry_free(e);
    }
    for (entry *e = c->detached, *n; e; e = n) {
        n = e->next;
        entry_free(e);
    }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static void unlink_lru(vfr_model_cache *c, entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(vfr_model_cache *c, entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

static entry *find(vfr_model_cache *c, const char *key)
{
    for (entry *e = c->head; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

/* Takes e out of the LRU list; frees it now or, if acquired, at release. */
static void evict(vfr_model_cache *c, entry *e)
{
    unlink_lru(c, e);
    e->cached = 0;
    c->bytes -= e->cost;
    c->entries--;
    c->evictions++;
    if (e->refs > 0) {
        e->next = c->detached;
        c->detached = e;
    } else {
        entry_free(e);
    }
}

vfr_status vfr_model_cache_acquire(vfr_model_cache *c, const char *key, size_t cost,
                                   vfr_model_loader load, void *ctx, vfr_model **out, int *hit)
{
    *out = NULL;
    if (hit)
        *hit = 0;
    if (!c || !key || !*key || !load)
        return vfr_fail(VFR_ERR_INVALID_ARG, "model cache: a cache, a key and a loader are required");
    pthread_mutex_lock(&c->mu);
    entry *e = find(c, key);
    if (e) {
        unlink_lru(c, e);
        push_front(c, e);
        e->refs++;
        c->hits++;
        *out = e->model;
        pthread_mutex_unlock(&c->mu);
        if (hit)
            *hit = 1;
        return VFR_OK;
    }
    c->misses++;
    pthread_mutex_unlock(&c->mu);

    vfr_model *m = NULL;
    vfr_status st = load(ctx, &m);
    if (st != VFR_OK)
        return st;
    entry *n = calloc(1, sizeof *n);
    if (!n || !(n->key = vfri_strdup(key))) {
        free(n);
        vfr_model_destroy(m);
        return vfr_fail(VFR_ERR_NOMEM, "model cache: out of memory");
    }
    n->model = m;
    n->cost = cost;
    n->refs = 1;

    pthread_mutex_lock(&c->mu);
    if ((e = find(c, key)) != NULL) { /* another thread loaded it meanwhile */
        unlink_lru(c, e);
        push_front(c, e);
        e->refs++;
        *out = e->model;
        pthread_mutex_unlock(&c->mu);
        entry_free(n);
        return VFR_OK;
    }
    if (cost > c->budget) { /* would evict everything and still not fit */
        n->next = c->detached;
        c->detached = n;
    } else {
        while (c->tail && c->bytes + cost > c->budget)
            evict(c, c->tail);
        n->cached = 1;
        push_front(c, n);
        c->bytes += cost;
        c->entries++;
    }
    *out = m;
    pthread_mutex_unlock(&c->mu);
    return VFR_OK;
}

void vfr_model_cache_release(vfr_model_cache *c, vfr_model *m)
{
    if (!m)
        return;
    if (!c) {
        vfr_model_destroy(m);
        return;
    }
    pthread_mutex_lock(&c->mu);
    for (entry *e = c->head; e; e = e->next)
        if (e->model == m) {
            if (e->refs > 0)
                e->refs--;
            pthread_mutex_unlock(&c->mu);
            return;
        }
    for (entry **pp = &c->detached; *pp; pp = &(*pp)->next)
        if ((*pp)->model == m) {
            entry *e = *pp;
            if (--e->refs <= 0) {
                *pp = e->next;
                entry_free(e);
            }
            break;
        }
    pthread_mutex_unlock(&c->mu);
}

int vfr_model_cache_contains(vfr_model_cache *c, const char *key)
{
    if (!c || !key)
        return 0;
    pthread_mutex_lock(&c->mu);
    int found = find(c, key) != NULL;
    pthread_mutex_unlock(&c->mu);
    return found;
}

void vfr_model_cache_stats_get(vfr_model_cache *c, vfr_model_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    out->hits = c->hits;
    out->misses = c->misses;
    out->evictions = c->evictions;
    out->bytes = c->bytes;
    out->budget = c->budget;
    out->entries = c->entries;
    pthread_mutex_unlock(&c->mu);
}
