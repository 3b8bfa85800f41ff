list(APPEND UNIT_TEST_SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_partition_planner.cpp
     ${CMAKE_CURRENT_LIST_DIR}/test_partition_database_list.cpp)
list(APPEND UNIT_PURE_SOURCES ${AI_SCALE_SRC}/partition/planner.cpp
     ${AI_SCALE_SRC}/partition/database_list.cpp)
