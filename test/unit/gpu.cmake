# GPU offload: the chunk planner and pipeline run with a CPU backend over the shared formulas,
# the scoring kernel itself run on the CPU, model checks, the breaker, which models auto sends
# to the GPU, and the loader against real and fake modules.
list(APPEND UNIT_TEST_SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/test_gpu_pipeline.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_gpu_kernel_host.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_gpu_breaker.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_gpu_worth.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_gpu_loader.cpp)
list(APPEND UNIT_PURE_SOURCES ${AI_SCALE_SRC}/scoring/gpu_loader.cpp)

# Modules the loader must refuse: built for another ABI version, or missing entry points.
add_library(fake_gpu_module_abi999 SHARED ${CMAKE_CURRENT_LIST_DIR}/fake_gpu_module.cpp)
target_compile_definitions(fake_gpu_module_abi999 PRIVATE FAKE_ABI_VERSION=999)
add_library(fake_gpu_module_partial SHARED ${CMAKE_CURRENT_LIST_DIR}/fake_gpu_module.cpp)
target_compile_definitions(fake_gpu_module_partial PRIVATE FAKE_ABI_VERSION=2)
set(gpu_loader_defs
    FAKE_GPU_MODULE_ABI999="$<TARGET_FILE:fake_gpu_module_abi999>"
    FAKE_GPU_MODULE_PARTIAL="$<TARGET_FILE:fake_gpu_module_partial>")
if(TARGET ai_scale_gpu)
    list(APPEND gpu_loader_defs AI_SCALE_GPU_MODULE="$<TARGET_FILE:ai_scale_gpu>")
endif()
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/test_gpu_loader.cpp PROPERTIES
    COMPILE_DEFINITIONS "${gpu_loader_defs}")
# The test target is made after this file is read: add its build dependencies then.
cmake_language(DEFER CALL add_dependencies unit_tests fake_gpu_module_abi999 fake_gpu_module_partial)
if(TARGET ai_scale_gpu)
    cmake_language(DEFER CALL add_dependencies unit_tests ai_scale_gpu)
    # The module exports its C ABI and nothing else (gpu/exports.map).
    add_test(NAME gpu_module_exports COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/module_exports.sh
        $<TARGET_FILE:ai_scale_gpu> ai_scale_gpu_)
endif()
