add_fuzzer(fuzz_l1_table test/fuzz/fuzz_l1_table.cpp src/cache/l1_table.cpp)
