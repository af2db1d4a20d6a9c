# Engine variants (included by tests/CMakeLists.txt after the per-area registrations):
#
#   <area>.<name>.io_uring.nofeatures  every behavioural test executable that runs on io_uring,
#       again with ASOCK_URING_DISABLE=all: the io_uring engine with each optional feature forced
#       off (no LINK_TIMEOUT, CANCEL_FD, SINGLE_ISSUER/DEFER_TASKRUN, multishot, buffer ring, ...),
#       i.e. the paths an older kernel takes.  Labels: those of the test, plus
#       variant:nofeatures.
#   <area>.<name>.fallback  the socket and loop tests with ASOCK_URING_UNAVAILABLE=1 and no
#       ASOCK_ENGINE: ASOCK_ENGINE_AUTO must fall back to epoll (as on a kernel without io_uring,
#       or under a seccomp filter).  Labels: <area>, engine:epoll, variant:fallback.
#
# The test executables are found the way tests/CMakeLists.txt makes them (tests/<area>/test_*.c
# -> target <area>_test_<name>); the variant copies the registered test's properties (fixtures,
# locks, timeout, environment).  Tests that run something else (tool.*, example.*: scripts and
# programs of their own) have no variant here.
if(NOT "io_uring" IN_LIST ASOCK_TEST_ENGINES)
  return()
endif()

set(asock_variant_props FIXTURES_REQUIRED RESOURCE_LOCK TIMEOUT SKIP_RETURN_CODE DISABLED
    RUN_SERIAL)

# Registers test `new` running `target`, with the properties of `from`, environment `env` in
# place of from's ASOCK_ENGINE / ASOCK_URING_* settings, and label `label` added.
function(asock_add_variant new from target env label)
  add_test(NAME ${new} COMMAND ${target})
  foreach(prop ${asock_variant_props})
    get_test_property(${from} ${prop} value)
    if(NOT value STREQUAL "NOTFOUND" AND NOT value STREQUAL "")
      set_tests_properties(${new} PROPERTIES ${prop} "${value}")
    endif()
  endforeach()
  get_test_property(${from} ENVIRONMENT from_env)
  set(new_env ${env})
  if(NOT from_env STREQUAL "NOTFOUND")
    foreach(kv ${from_env})
      if(NOT kv MATCHES "^ASOCK_(ENGINE|URING_DISABLE|URING_UNAVAILABLE)=")
        list(APPEND new_env "${kv}")
      endif()
    endforeach()
  endif()
  set_tests_properties(${new} PROPERTIES ENVIRONMENT "${new_env}")
  get_test_property(${from} LABELS labels)
  if(labels STREQUAL "NOTFOUND")
    set(labels "")
  endif()
  list(APPEND labels ${label})
  set_tests_properties(${new} PROPERTIES LABELS "${labels}")
endfunction()

file(GLOB asock_variant_areas LIST_DIRECTORIES true RELATIVE ${CMAKE_CURRENT_LIST_DIR}/..
     ${CMAKE_CURRENT_LIST_DIR}/../*)
foreach(area ${asock_variant_areas})
  if(NOT IS_DIRECTORY ${CMAKE_CURRENT_LIST_DIR}/../${area})
    continue()
  endif()
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/../${area}/test_*.c)
  foreach(src ${srcs})
    get_filename_component(exe ${src} NAME_WE)
    string(REGEX REPLACE "^test_" "" name ${exe})
    set(target ${area}_${exe})
    if(NOT TARGET ${target})
      continue()
    endif()
    set(t ${area}.${name}.io_uring)
    if(TEST ${t} AND NOT TEST ${t}.nofeatures)
      asock_add_variant(${t}.nofeatures ${t} ${target}
                        "ASOCK_ENGINE=io_uring;ASOCK_URING_DISABLE=all" "variant:nofeatures")
    endif()
    if(area STREQUAL "socket" OR area STREQUAL "loop")
      set(f ${area}.${name}.fallback)
      if(TEST ${t} AND NOT TEST ${f})
        # "ASOCK_ENGINE=" (empty) counts as unset: AUTO decides
        asock_add_variant(${f} ${t} ${target} "ASOCK_ENGINE=;ASOCK_URING_UNAVAILABLE=1"
                          "variant:fallback")
        # the engine it must end up on
        get_test_property(${f} LABELS flabels)
        list(REMOVE_ITEM flabels "engine:io_uring")
        list(APPEND flabels "engine:epoll")
        set_tests_properties(${f} PROPERTIES LABELS "${flabels}")
      endif()
    endif()
  endforeach()
endforeach()
