list(APPEND UNIT_TEST_SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_partition_planner.cpp
     ${CMAKE_CURRENT_LIST_DIR}/test_partition_database_list.cpp
     ${CMAKE_CURRENT_LIST_DIR}/test_partition_descriptor_memory.cpp)
list(APPEND UNIT_PURE_SOURCES ${AI_SCALE_SRC}/partition/planner.cpp
     ${AI_SCALE_SRC}/partition/database_list.cpp
     ${AI_SCALE_SRC}/partition/descriptor_memory.cpp)

# glibc's malloc thresholds are the process's: the test reads them from a process of its own.
add_executable(descriptor_memory_probe ${CMAKE_CURRENT_LIST_DIR}/descriptor_memory_probe.cpp
    ${AI_SCALE_SRC}/partition/descriptor_memory.cpp)
target_include_directories(descriptor_memory_probe PRIVATE ${AI_SCALE_SRC})
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/test_partition_descriptor_memory.cpp
    PROPERTIES COMPILE_DEFINITIONS
    "DESCRIPTOR_MEMORY_PROBE=\"$<TARGET_FILE:descriptor_memory_probe>\"")
cmake_language(DEFER CALL add_dependencies unit_tests descriptor_memory_probe)
