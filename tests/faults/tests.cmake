# Fault injection (label "faults"): every tests/faults/test_*.c runs once per engine, as
# faults.<name>.<engine>.  tests/CMakeLists.txt registers areas outside ASOCK_ENGINE_AREAS once,
# as faults.<name> with no engine; until "faults" joins ASOCK_ENGINE_AREAS there, that single
# registration is disabled here and the per-engine ones are added instead.
file(GLOB asock_fault_tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/test_*.c)
foreach(src ${asock_fault_tests})
  get_filename_component(exe ${src} NAME_WE)
  string(REGEX REPLACE "^test_" "" name ${exe})
  if(TEST faults.${name})
    set_tests_properties(faults.${name} PROPERTIES DISABLED TRUE)
  endif()
  foreach(engine ${ASOCK_TEST_ENGINES})
    set(t faults.${name}.${engine})
    if(NOT TEST ${t})
      add_test(NAME ${t} COMMAND faults_${exe})
      set_tests_properties(${t} PROPERTIES ENVIRONMENT "ASOCK_ENGINE=${engine}"
                           LABELS "faults;engine:${engine}" SKIP_RETURN_CODE 77)
    endif()
    set_tests_properties(${t} PROPERTIES TIMEOUT 300)
    if(name STREQUAL "netns")
      set_property(TEST ${t} APPEND PROPERTY LABELS netns)
    endif()
    if(name STREQUAL "rlimit")
      # lowers its own RLIMIT_NOFILE: nothing else may count on its descriptors
      set_property(TEST ${t} APPEND PROPERTY LABELS rlimit)
    endif()
  endforeach()
endforeach()
