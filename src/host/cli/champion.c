/* champion.c: where the CLI gets the champion for the champion baseline.
 * Until a registry is configured there is none, and compare says so. */
#include <stddef.h>

#include "cli.h"
#include "vfr/compare.h"

const vfr_champion_source *cli_champion_source(void) { return NULL; }
