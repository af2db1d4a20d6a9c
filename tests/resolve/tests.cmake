# The resolve tests' DNS server: dnsmasq as a CTest fixture (reference/ecosystem.md §3.6, §4).
# resolve.dnsmasq.start starts it on 127.0.53.1 and a free port and waits until it answers;
# resolve.dnsmasq.stop kills it by PID.  Every resolve.* test requires the fixture and finds the
# server through ASOCK_TEST_DNS_FILE (KEY=VALUE lines written by dnsmasq.sh).
set(ASOCK_DNS_DIR ${CMAKE_CURRENT_BINARY_DIR}/dnsmasq)

add_executable(resolve_dnsfixture ${CMAKE_CURRENT_LIST_DIR}/dnsfixture.c)

add_test(NAME resolve.dnsmasq.start
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/dnsmasq.sh start ${ASOCK_DNS_DIR}
                 $<TARGET_FILE:resolve_dnsfixture>)
set_tests_properties(resolve.dnsmasq.start PROPERTIES FIXTURES_SETUP asock_dns
                     LABELS "resolve;dns" TIMEOUT 30)
add_test(NAME resolve.dnsmasq.stop COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/dnsmasq.sh stop
                                           ${ASOCK_DNS_DIR})
set_tests_properties(resolve.dnsmasq.stop PROPERTIES FIXTURES_CLEANUP asock_dns
                     LABELS "resolve;dns" TIMEOUT 30)

file(GLOB asock_resolve_tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/test_*.c)
foreach(src ${asock_resolve_tests})
  get_filename_component(exe ${src} NAME_WE)
  string(REGEX REPLACE "^test_" "" name ${exe})
  foreach(engine ${ASOCK_TEST_ENGINES})
    set(t resolve.${name}.${engine})
    set_tests_properties(${t} PROPERTIES FIXTURES_REQUIRED asock_dns)
    set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT
                 "ASOCK_TEST_DNS_FILE=${ASOCK_DNS_DIR}/server")
    set_property(TEST ${t} APPEND PROPERTY LABELS dns)
  endforeach()
endforeach()

# The SRV fall-through target listens on a port fixed for the fixture's lifetime
# (srv_ok_port): its engine variants must not run at the same time.
foreach(engine ${ASOCK_TEST_ENGINES})
  if(TEST resolve.connect_name.${engine})
    set_tests_properties(resolve.connect_name.${engine} PROPERTIES RESOURCE_LOCK asock_dns_srv_port)
  endif()
endforeach()
# The Happy Eyeballs test makes its own network namespace.
foreach(engine ${ASOCK_TEST_ENGINES})
  if(TEST resolve.happy_eyeballs.${engine})
    set_property(TEST resolve.happy_eyeballs.${engine} APPEND PROPERTY LABELS netns)
  endif()
endforeach()
