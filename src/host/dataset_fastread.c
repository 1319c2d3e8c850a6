/* dataset_fastread.c: parallel decompression of whole-row chunks.
 *
 * HDF5 (serial) decompresses chunks one at a time on the calling thread, so a
 * full-matrix read is bound by one core's inflate speed. For the layouts vfr
 * writes (chunks spanning all columns; filters none, deflate, or shuffle then
 * deflate), this reads each chunk's raw bytes with H5Dread_chunk under a lock
 * and inflates/unshuffles them on worker threads straight into the caller's
 * buffer. Anything else (other filters, other chunk shapes, a file made by
 * another tool) returns VFR_ERR_NOT_FOUND and the caller uses H5Dread. */
#include "dataset_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

typedef struct fastread_job {
    hid_t id;
    int64_t r0, r1, width, chunk_rows;
    int shuffle, deflate;         /* filter positions in the pipeline, or -1 */
    float *out;
    pthread_mutex_t lock;         /* guards HDF5 calls and next_chunk        */
    int64_t next_chunk, last_chunk;
    int failed;
} fastread_job;

/* HDF5's byte shuffle, undone for 4-byte elements: byte b of element i is at
 * in[b * n + i]. */
static void unshuffle4(const unsigned char *in, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[4 * i + 0] = in[i];
        out[4 * i + 1] = in[n + i];
        out[4 * i + 2] = in[2 * n + i];
        out[4 * i + 3] = in[3 * n + i];
    }
}

static void *worker(void *arg)
{
    fastread_job *j = arg;
    size_t chunk_bytes = (size_t)(j->chunk_rows * j->width) * sizeof(float);
    size_t raw_cap = chunk_bytes + 1024;
    unsigned char *raw = malloc(raw_cap), *plain = malloc(chunk_bytes), *tmp = malloc(chunk_bytes);
    if (!raw || !plain || !tmp) {
        pthread_mutex_lock(&j->lock);
        j->failed = 1;
        pthread_mutex_unlock(&j->lock);
    }
    for (;;) {
        pthread_mutex_lock(&j->lock);
        if (j->failed || j->next_chunk > j->last_chunk) {
            pthread_mutex_unlock(&j->lock);
            break;
        }
        int64_t c = j->next_chunk++;
        hsize_t off[2] = {(hsize_t)(c * j->chunk_rows), 0}, nbytes = 0;
        uint32_t mask = 0;
        int ok = H5Dget_chunk_storage_size(j->id, off, &nbytes) >= 0 && nbytes <= raw_cap &&
                 H5Dread_chunk(j->id, H5P_DEFAULT, off, &mask, raw) >= 0;
        pthread_mutex_unlock(&j->lock);
        const unsigned char *src = raw;
        if (ok) {
            int inflated = j->deflate >= 0 && !(mask & (1u << j->deflate));
            int shuffled = j->shuffle >= 0 && !(mask & (1u << j->shuffle));
            if (inflated) {
                uLongf len = (uLongf)chunk_bytes;
                ok = uncompress(plain, &len, raw, (uLong)nbytes) == Z_OK && len == chunk_bytes;
                src = plain;
            } else {
                ok = nbytes == chunk_bytes;
            }
            if (ok && shuffled) {
                unshuffle4(src, tmp, chunk_bytes / 4);
                src = tmp;
            }
        }
        if (ok) { /* copy the rows of this chunk that fall in [r0, r1) */
            int64_t c0 = c * j->chunk_rows, c1 = c0 + j->chunk_rows;
            int64_t a = c0 > j->r0 ? c0 : j->r0, b = c1 < j->r1 ? c1 : j->r1;
            memcpy(j->out + (a - j->r0) * j->width, src + (size_t)((a - c0) * j->width) * 4,
                   (size_t)((b - a) * j->width) * 4);
        } else {
            pthread_mutex_lock(&j->lock);
            j->failed = 1;
            pthread_mutex_unlock(&j->lock);
        }
    }
    free(raw);
    free(plain);
    free(tmp);
    return NULL;
}

vfr_status vfri_dataset_fastread(hid_t id, int rank, int64_t r0, int64_t r1, int64_t width,
                                float *out)
{
    hid_t dcpl = H5Dget_create_plist(id), type = H5Dget_type(id);
    hsize_t chunk[2] = {0, 0};
    int usable = dcpl >= 0 && H5Pget_layout(dcpl) == H5D_CHUNKED &&
                 H5Pget_chunk(dcpl, 2, chunk) == rank && type >= 0 &&
                 H5Tequal(type, H5T_IEEE_F32LE) > 0 && (rank == 1 || chunk[1] == (hsize_t)width);
    fastread_job j = {.id = id, .r0 = r0, .r1 = r1, .width = width, .shuffle = -1, .deflate = -1,
                      .out = out};
    int nf = usable ? H5Pget_nfilters(dcpl) : 0;
    for (int k = 0; usable && k < nf; k++) {
        unsigned flags, cd[8];
        size_t ncd = 8;
        H5Z_filter_t f = H5Pget_filter2(dcpl, (unsigned)k, &flags, &ncd, cd, 0, NULL, NULL);
        if (f == H5Z_FILTER_SHUFFLE && k == 0)
            j.shuffle = k;
        else if (f == H5Z_FILTER_DEFLATE && k == nf - 1)
            j.deflate = k;
        else
            usable = 0;
    }
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (type >= 0)
        H5Tclose(type);
    if (!usable)
        return VFR_ERR_NOT_FOUND;
    j.chunk_rows = (int64_t)chunk[0];
    j.next_chunk = r0 / j.chunk_rows;
    j.last_chunk = (r1 - 1) / j.chunk_rows;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int64_t nchunks = j.last_chunk - j.next_chunk + 1;
    int nt = (int)(ncpu < 1 ? 1 : ncpu > 16 ? 16 : ncpu);
    if (nt > nchunks)
        nt = (int)nchunks;
    pthread_t th[16];
    int started = 0;
    pthread_mutex_init(&j.lock, NULL);
    for (int t = 1; t < nt; t++) /* the calling thread is worker 0 */
        if (pthread_create(&th[started], NULL, worker, &j) == 0)
            started++;
    worker(&j);
    for (int t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    pthread_mutex_destroy(&j.lock);
    return j.failed ? VFR_ERR_IO : VFR_OK;
}
