# The pure parts of src/pg: glibc's thresholds raised so that a backend keeps its freed heap;
# the part of an error's context handed on.
list(APPEND UNIT_TEST_SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_kept_heap.cpp
     ${CMAKE_CURRENT_LIST_DIR}/test_error_context.cpp)
list(APPEND UNIT_PURE_SOURCES ${AI_SCALE_SRC}/pg/kept_heap.cpp ${AI_SCALE_SRC}/pg/error_context.cpp)

# glibc's malloc thresholds are the process's: the test reads them from a process of its own.
add_executable(kept_heap_probe ${CMAKE_CURRENT_LIST_DIR}/kept_heap_probe.cpp
    ${AI_SCALE_SRC}/pg/kept_heap.cpp)
target_include_directories(kept_heap_probe PRIVATE ${AI_SCALE_SRC})
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/test_kept_heap.cpp PROPERTIES
    COMPILE_DEFINITIONS "KEPT_HEAP_PROBE=\"$<TARGET_FILE:kept_heap_probe>\"")
cmake_language(DEFER CALL add_dependencies unit_tests kept_heap_probe)
