/* cmd_report.c: `vfr report RUN_DIR [--out FILE]`: writes the run report, one
 * self-contained HTML page (docs/report.md), for any run folder. A thin
 * wrapper of vfr_runreport_write; prints the path of the page it wrote. */
#include <stdio.h>

#include "cli.h"
#include "vfr/runfolder.h"
#include "vfr/runreport.h"

static const char help[] =
    "usage: vfr report RUN_DIR [--out FILE]\n\n"
    "Writes the run report of a run folder (docs/run-folder.md): one HTML file\n"
    "with inline SVG charts and CSS, no JavaScript, nothing fetched, so it opens\n"
    "offline and prints. Header (job, dataset, model, device, step times), the\n"
    "deploy decision (comparison.json), equity and drawdown against the\n"
    "baselines, rolling Sharpe, ROC, calibration, confusion matrix, daily IC,\n"
    "feature importance, the search and walk-forward windows, and the tables of\n"
    "metrics, data quality and split dates. Contents: docs/report.md.\n\n"
    "  --out FILE   where to write (default RUN_DIR/report.html)\n\n"
    "exit codes: 0 ok, 1 runtime failure, 2 usage or not a run folder\n";

int cmd_report(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL;
    for (int i = 0; i < argc; i++) {
        int m;
        if (cli_is_help(argv[i])) {
            fputs(help, stdout);
            return 0;
        } else if ((m = cli_opt(argc, argv, &i, "--out", &out)) != 0) {
            if (m < 0)
                return 2;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error("unknown option '%s'", argv[i]);
        } else if (!dir) {
            dir = argv[i];
        } else {
            return cli_usage_error("one run folder, got '%s' and '%s'", dir, argv[i]);
        }
    }
    if (!dir)
        return cli_usage_error("RUN_DIR is required");
    vfr_status st = vfr_runreport_write(dir, out);
    if (st != VFR_OK)
        return cli_fail(st);
    char path[8400];
    if (!out && (st = vfr_runfolder_path(dir, VFR_RUNFILE_REPORT, path, sizeof path)) != VFR_OK)
        return cli_fail(st);
    printf("%s\n", out ? out : path);
    return 0;
}
