/* fuzz_job.c: fuzz target for the job loader (vfr_job_parse): the input is
 * the job file's text. A job that parses must serialise (vfr_job_to_json)
 * and parse again; a refusal must carry a message. */
#include "fuzz_common.h"
#include "vfr/job.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    vfr_job *j = NULL;
    vfr_status st = vfr_job_parse("/tmp/fuzz/job.json", text, &j);
    if (st == VFR_OK) {
        char *again = vfr_job_to_json(j);
        vfr_job *k = NULL;
        if (!again || vfr_job_parse("/tmp/fuzz/job.json", again, &k) != VFR_OK)
            abort(); /* a resolved job that does not load again */
        vfr_job_free(k);
        free(again);
    } else if (!vfr_last_error()[0]) {
        abort();
    }
    vfr_job_free(j);
    free(text);
    return 0;
}
