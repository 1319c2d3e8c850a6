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
    "metrics, data quality and split dates. Contents: docs/report.md.\n\n";
static const char after[] = "\nexit codes: 0 ok, 1 runtime failure, 2 usage or not a run folder\n";

int cmd_report(int argc, char **argv)
{
    const char *pos[2] = {NULL, NULL}, *out = NULL;
    const cli_option opts[] = {
        {.name = "--out", .kind = CLI_STR, .dest = &out, .arg = "FILE",
         .help = "where to write (default RUN_DIR/report.html)"},
        {0},
    };
    int rc = cli_parse(argc, argv, help, opts, after, pos, 2);
    if (rc)
        return rc < 0 ? 0 : rc;
    const char *dir = pos[0];
    if (pos[1])
        return cli_usage_error("one run folder, got '%s' and '%s'", pos[0], pos[1]);
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
