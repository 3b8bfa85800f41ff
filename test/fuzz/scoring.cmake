add_fuzzer(fuzz_scoring_extract test/fuzz/fuzz_scoring_extract.cpp src/scoring/extract.cpp)
add_fuzzer(fuzz_xgboost_import test/fuzz/fuzz_xgboost_import.cpp src/scoring/xgboost.cpp
           src/scoring/json.cpp src/scoring/model.cpp)
