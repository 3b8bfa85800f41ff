list(APPEND UNIT_TEST_SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_scoring_math.cpp
     ${CMAKE_CURRENT_LIST_DIR}/test_scoring_extract.cpp
     ${CMAKE_CURRENT_LIST_DIR}/test_scoring_xgboost.cpp
     ${CMAKE_CURRENT_LIST_DIR}/test_model_lru.cpp
     ${CMAKE_CURRENT_LIST_DIR}/test_scoring_batch_limit.cpp)
list(APPEND UNIT_PURE_SOURCES ${AI_SCALE_SRC}/scoring/json.cpp ${AI_SCALE_SRC}/scoring/model.cpp
     ${AI_SCALE_SRC}/scoring/xgboost.cpp ${AI_SCALE_SRC}/scoring/extract.cpp)
set_property(SOURCE ${CMAKE_CURRENT_LIST_DIR}/test_scoring_xgboost.cpp APPEND PROPERTY
             COMPILE_DEFINITIONS AI_SCALE_TEST_DATA="${CMAKE_SOURCE_DIR}/test/data/scoring")
