# The test list. Add a line per test.
vfr_test(test_status)
vfr_test(test_colstats)
vfr_test(test_colstats_parity GPU)
vfr_test(test_dataset)
vfr_test(test_synth)
vfr_script_test(test_cli python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_cli.py)
vfr_test(test_features)
vfr_test(test_pack)
