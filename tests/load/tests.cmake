# Load (label "load"): every tests/load/test_*.c once per engine, short (load.<name>.<engine>).
# With -DASOCK_LOAD_LONG=ON the long versions are registered too (load.<name>.<engine>.long,
# labels "load;long", ASOCK_LOAD_LONG=1: 10,000 connections, 2,000,000 datagrams); run them with
# `ctest -L long`.  As for faults/, the engine-less registration tests/CMakeLists.txt makes is
# disabled until "load" joins ASOCK_ENGINE_AREAS.
option(ASOCK_LOAD_LONG "Register the long load tests (label long)" OFF)
file(GLOB asock_load_tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/test_*.c)
foreach(src ${asock_load_tests})
  get_filename_component(exe ${src} NAME_WE)
  string(REGEX REPLACE "^test_" "" name ${exe})
  if(TEST load.${name})
    set_tests_properties(load.${name} PROPERTIES DISABLED TRUE)
  endif()
  foreach(engine ${ASOCK_TEST_ENGINES})
    set(t load.${name}.${engine})
    if(NOT TEST ${t})
      add_test(NAME ${t} COMMAND load_${exe})
      set_tests_properties(${t} PROPERTIES ENVIRONMENT "ASOCK_ENGINE=${engine}"
                           LABELS "load;engine:${engine}" SKIP_RETURN_CODE 77)
    endif()
    set_tests_properties(${t} PROPERTIES TIMEOUT 300)
    # CPU-heavy: never two load tests at once on a small machine
    set_property(TEST ${t} APPEND PROPERTY RESOURCE_LOCK asock_load)
    if(ASOCK_LOAD_LONG)
      add_test(NAME ${t}.long COMMAND load_${exe})
      set_tests_properties(${t}.long PROPERTIES
                           ENVIRONMENT "ASOCK_ENGINE=${engine};ASOCK_LOAD_LONG=1"
                           LABELS "load;long;engine:${engine}" TIMEOUT 1800
                           SKIP_RETURN_CODE 77 RESOURCE_LOCK asock_load)
    endif()
  endforeach()
endforeach()
