add_fuzzer(fuzz_partition_planner test/fuzz/fuzz_partition_planner.cpp src/partition/planner.cpp)
