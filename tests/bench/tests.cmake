# bench.smoke: every implementation runs every workload for a fraction of a second and the tool
# exits 0.  No performance is asserted here: the figures live in docs/BENCHMARKS.md.
if(TARGET asock-bench)
  add_test(NAME bench.smoke COMMAND asock-bench --quick)
  set_tests_properties(bench.smoke PROPERTIES LABELS "bench" TIMEOUT 300 RUN_SERIAL TRUE)
endif()
