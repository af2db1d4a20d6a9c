# asockcat interop tests (tests/tool/asockcat_test.py): the tool runs as a subprocess against
# Python sockets, socat, ncat and (tool.names) the dnsmasq fixture asock_dns of
# tests/resolve/tests.cmake, on loopback only.  Each scenario runs once per engine:
# tool.<scenario>.<engine>, labels tool and engine:<engine>.
if(NOT TARGET asockcat)
  return()
endif()
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
  message(WARNING "python3 not found: the tool.* tests are not registered")
  return()
endif()

if(NOT DEFINED ASOCK_DNS_DIR)
  set(ASOCK_DNS_DIR ${CMAKE_CURRENT_BINARY_DIR}/dnsmasq)
endif()

set(asock_tool_scenarios
    relay listen_keep errors usage names source data_first half_duplex ipv6 bigtransfer
    udp_filter broadcast multicast udp_srv)

foreach(engine ${ASOCK_TEST_ENGINES})
  foreach(scenario ${asock_tool_scenarios})
    set(t tool.${scenario}.${engine})
    add_test(NAME ${t}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/asockcat_test.py
                     $<TARGET_FILE:asockcat> ${scenario})
    set_tests_properties(${t} PROPERTIES
      ENVIRONMENT "ASOCK_ENGINE=${engine};LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_LIST_DIR}/lsan.supp"
      LABELS "tool;engine:${engine}" TIMEOUT 120)
  endforeach()
  set_tests_properties(tool.bigtransfer.${engine} PROPERTIES TIMEOUT 240)
  # names and SRV: the dnsmasq fixture; _fall._tcp.svc.test's ok.test port is fixed for the
  # fixture's lifetime, shared with resolve.connect_name
  set_tests_properties(tool.names.${engine} PROPERTIES RESOURCE_LOCK asock_dns_srv_port)
  # _echo2._udp.svc.test's targets listen on fixed ports (127.0.0.2:5001, 127.0.0.3:5002,
  # [::1]:5002, 127.0.0.2:5003) in tool.udp_srv
  set_tests_properties(tool.udp_srv.${engine} PROPERTIES RESOURCE_LOCK asock_fixed_udp_ports)
  foreach(scenario names multicast udp_srv)
    set_tests_properties(tool.${scenario}.${engine} PROPERTIES FIXTURES_REQUIRED asock_dns)
    set_property(TEST tool.${scenario}.${engine} APPEND PROPERTY ENVIRONMENT
                 "ASOCK_TEST_DNS_FILE=${ASOCK_DNS_DIR}/server")
    set_property(TEST tool.${scenario}.${engine} APPEND PROPERTY LABELS dns)
  endforeach()
  # the connect-timeout case makes its own network namespace
  set_property(TEST tool.errors.${engine} APPEND PROPERTY LABELS netns)
endforeach()

# docs/ERRORS.md's tables are generated from the library (tests/tool/errors_doc.c): this test
# fails when they drift apart (update: check_errors_doc.py GENERATOR docs/ERRORS.md --update).
add_executable(tool_errors_doc ${CMAKE_CURRENT_LIST_DIR}/errors_doc.c)
target_link_libraries(tool_errors_doc PRIVATE asock::asock)
target_compile_definitions(tool_errors_doc PRIVATE _GNU_SOURCE)
add_test(NAME tool.errors_doc
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/check_errors_doc.py
                 $<TARGET_FILE:tool_errors_doc> ${PROJECT_SOURCE_DIR}/docs/ERRORS.md)
set_tests_properties(tool.errors_doc PROPERTIES LABELS "tool;docs" TIMEOUT 30)
