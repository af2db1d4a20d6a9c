# Race tests (label "races"): tests/tsan/test_*.c once per engine, as tsan.<name>.<engine>.  They
# run in every build; scripts/tsan.sh runs them (with the loop and stress tests) under
# ThreadSanitizer.  The engine-less registration of tests/CMakeLists.txt is disabled, as in
# faults/ and load/.
file(GLOB asock_tsan_tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/test_*.c)
foreach(src ${asock_tsan_tests})
  get_filename_component(exe ${src} NAME_WE)
  string(REGEX REPLACE "^test_" "" name ${exe})
  if(TEST tsan.${name})
    set_tests_properties(tsan.${name} PROPERTIES DISABLED TRUE)
  endif()
  foreach(engine ${ASOCK_TEST_ENGINES})
    set(t tsan.${name}.${engine})
    if(NOT TEST ${t})
      add_test(NAME ${t} COMMAND tsan_${exe})
      set_tests_properties(${t} PROPERTIES ENVIRONMENT "ASOCK_ENGINE=${engine}"
                           LABELS "tsan;engine:${engine}" SKIP_RETURN_CODE 77)
    endif()
    set_tests_properties(${t} PROPERTIES TIMEOUT 300)
    set_property(TEST ${t} APPEND PROPERTY LABELS races)
  endforeach()
endforeach()
