# The self-contained examples run on loopback and exit 0 by themselves (examples/CMakeLists.txt
# builds them when ASOCK_BUILD_EXAMPLES is on).  Each runs once per engine:
# example.<name>.<engine>, labels example and engine:<engine>.
# (LSAN_OPTIONS: c-ares 1.18.1's "localhost" leak, see tests/tool/lsan.supp)
set(asock_lsan_supp ${CMAKE_CURRENT_LIST_DIR}/../tool/lsan.supp)
foreach(ex tcp_echo_server tcp_client_connect_with_data udp_connected_peer cross_thread_post
           datagram_endpoint_pair multicast_receiver)
  if(NOT TARGET asock-example-${ex})
    continue()
  endif()
  foreach(engine ${ASOCK_TEST_ENGINES})
    add_test(NAME example.${ex}.${engine} COMMAND asock-example-${ex})
    set_tests_properties(example.${ex}.${engine} PROPERTIES
      ENVIRONMENT "ASOCK_ENGINE=${engine};LSAN_OPTIONS=suppressions=${asock_lsan_supp}"
      LABELS "example;engine:${engine}" TIMEOUT 60 SKIP_RETURN_CODE 77)
  endforeach()
endforeach()

# datagram_endpoint_pair with an SRV service name through the dnsmasq fixture
# (_echo2._udp.svc.test, tests/resolve/dnsmasq.sh): the DNS server comes from the fixture's file.
if(TARGET asock-example-datagram_endpoint_pair AND TARGET resolve_dnsfixture)
  if(NOT DEFINED ASOCK_DNS_DIR)
    set(ASOCK_DNS_DIR ${CMAKE_CURRENT_BINARY_DIR}/dnsmasq)
  endif()
  foreach(engine ${ASOCK_TEST_ENGINES})
    set(t example.datagram_endpoint_pair_srv.${engine})
    add_test(NAME ${t}
             COMMAND sh -c "exec \"$0\" \"$(sed -n 's/^dns=//p' \"$1\")\" svc.test echo2"
                     $<TARGET_FILE:asock-example-datagram_endpoint_pair> ${ASOCK_DNS_DIR}/server)
    set_tests_properties(${t} PROPERTIES
      ENVIRONMENT "ASOCK_ENGINE=${engine};LSAN_OPTIONS=suppressions=${asock_lsan_supp}"
      LABELS "example;dns;engine:${engine}" TIMEOUT 60 FIXTURES_REQUIRED asock_dns)
  endforeach()
endif()
