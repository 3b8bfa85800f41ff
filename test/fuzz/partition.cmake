add_fuzzer(fuzz_partition_planner test/fuzz/fuzz_partition_planner.cpp src/partition/planner.cpp)
add_fuzzer(fuzz_database_list test/fuzz/fuzz_database_list.cpp src/partition/database_list.cpp)
