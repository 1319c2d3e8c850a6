/* fuzz_csv.c: fuzz target for the CSV packers (vfr_pack_prices_csv and
 * vfr_pack_long_csv). The first byte picks the layout, the rest is the file.
 * Any input must end in VFR_OK or an error status with a message, never a
 * crash, a sanitizer report or a hang; a successful pack must open again. */
#include <sys/stat.h>

#include "fuzz_common.h"
#include "vfr/dataset.h"
#include "vfr/pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *in = fuzz_file("in.csv", data + 1, size - 1);
    char csv[512], out[512];
    snprintf(csv, sizeof csv, "%s", in);
    snprintf(out, sizeof out, "%s", fuzz_path("out.h5"));
    vfr_pack_options o = {NULL, 0, 0, NULL};
    vfr_status st = data[0] & 1 ? vfr_pack_long_csv(csv, out, &o) : vfr_pack_prices_csv(csv, out, &o);
    if (st == VFR_OK) {
        vfr_dataset *ds = NULL;
        if (vfr_dataset_open(out, &ds) != VFR_OK)
            abort(); /* what pack wrote, open refuses: a real bug */
        vfr_dataset_close(ds);
    } else if (!vfr_last_error()[0]) {
        abort(); /* an error without a message */
    }
    unlink(out);
    return 0;
}
