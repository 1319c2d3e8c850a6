# The test list. Add a line per test.
vfr_test(test_status)
vfr_test(test_colstats)
vfr_test(test_colstats_parity GPU)
vfr_test(test_dataset)
