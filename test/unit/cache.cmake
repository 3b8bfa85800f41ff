list(APPEND UNIT_TEST_SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_l1_table.cpp
     ${CMAKE_CURRENT_LIST_DIR}/test_breaker.cpp ${CMAKE_CURRENT_LIST_DIR}/test_replica_check.cpp
     ${CMAKE_CURRENT_LIST_DIR}/test_jsonb_check.cpp ${CMAKE_CURRENT_LIST_DIR}/test_l2_format.cpp
     ${CMAKE_CURRENT_LIST_DIR}/test_sentinel_view.cpp
     ${CMAKE_CURRENT_LIST_DIR}/test_endpoint_address.cpp
     ${CMAKE_CURRENT_LIST_DIR}/test_host_lookup.cpp
     ${CMAKE_CURRENT_LIST_DIR}/test_unix_socket.cpp
     ${CMAKE_CURRENT_LIST_DIR}/test_generation_slots.cpp
     ${CMAKE_CURRENT_LIST_DIR}/test_lineage_rules.cpp
     ${CMAKE_CURRENT_LIST_DIR}/test_resp_limits.cpp ${CMAKE_CURRENT_LIST_DIR}/test_error_text.cpp
     ${CMAKE_CURRENT_LIST_DIR}/test_distinct_keys.cpp
     ${CMAKE_CURRENT_LIST_DIR}/test_unlearned_keys.cpp
     ${CMAKE_CURRENT_LIST_DIR}/test_unsent_bumps_format.cpp
     ${CMAKE_CURRENT_LIST_DIR}/test_unsent_mark.cpp
     ${CMAKE_CURRENT_LIST_DIR}/test_ttl.cpp)
list(APPEND UNIT_PURE_SOURCES ${AI_SCALE_SRC}/cache/l1_table.cpp ${AI_SCALE_SRC}/cache/breaker.cpp
     ${AI_SCALE_SRC}/cache/replica_check.cpp ${AI_SCALE_SRC}/cache/jsonb_check.cpp
     ${AI_SCALE_SRC}/cache/l2_format.cpp ${AI_SCALE_SRC}/cache/sentinel_view.cpp
     ${AI_SCALE_SRC}/cache/endpoint_address.cpp
     ${AI_SCALE_SRC}/cache/host_lookup.cpp
     ${AI_SCALE_SRC}/cache/fd_wait.cpp
     ${AI_SCALE_SRC}/cache/unix_socket.cpp
     ${AI_SCALE_SRC}/cache/generation_slots.cpp ${AI_SCALE_SRC}/cache/lineage_rules.cpp
     ${AI_SCALE_SRC}/cache/resp_limits.cpp ${AI_SCALE_SRC}/cache/error_text.cpp
     ${AI_SCALE_SRC}/cache/distinct_keys.cpp ${AI_SCALE_SRC}/cache/unsent_bumps_format.cpp
     ${AI_SCALE_SRC}/cache/unsent_mark.cpp)
