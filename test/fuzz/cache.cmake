add_fuzzer(fuzz_l1_table test/fuzz/fuzz_l1_table.cpp src/cache/l1_table.cpp)
add_fuzzer(fuzz_replica_check test/fuzz/fuzz_replica_check.cpp src/cache/replica_check.cpp)
add_fuzzer(fuzz_jsonb_check test/fuzz/fuzz_jsonb_check.cpp src/cache/jsonb_check.cpp)
