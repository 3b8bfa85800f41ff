add_fuzzer(fuzz_latency_histogram test/fuzz/fuzz_latency_histogram.cpp src/stats/metrics.cpp)
