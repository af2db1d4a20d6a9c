# The datagram tests' extra registrations (included by tests/CMakeLists.txt).
#   - tests that resolve names need the resolve tests' dnsmasq fixture (asock_dns; it serves
#     svc1.test, svc.test SRV records, mcast.test, bcast.test, ...);
#   - tests that bind fixed ports (services-database names on 127.0.0.9:123 and :7, the SRV
#     targets' ports 5001-5003) hold a lock so the two engine variants never run together;
#   - the network-namespace test makes its own namespaces and veth link (label netns).
set(asock_datagram_dns_tests names)
foreach(engine ${ASOCK_TEST_ENGINES})
  foreach(name ${asock_datagram_dns_tests})
    set(t datagram.${name}.${engine})
    if(TEST ${t})
      set_tests_properties(${t} PROPERTIES FIXTURES_REQUIRED asock_dns
                           RESOURCE_LOCK asock_fixed_udp_ports)
      set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT
                   "ASOCK_TEST_DNS_FILE=${CMAKE_BINARY_DIR}/tests/dnsmasq/server")
      set_property(TEST ${t} APPEND PROPERTY LABELS dns)
    endif()
  endforeach()
  if(TEST datagram.bind.${engine})
    # binds 127.0.0.10:123 (ntp)
    set_tests_properties(datagram.bind.${engine} PROPERTIES RESOURCE_LOCK asock_fixed_udp_ports)
  endif()
  if(TEST datagram.multicast.${engine})
    # joins groups on lo: keep the engine variants apart so memberships never overlap
    set_tests_properties(datagram.multicast.${engine} PROPERTIES RESOURCE_LOCK asock_datagram_lo_multicast)
  endif()
  if(TEST datagram.netns.${engine})
    set_property(TEST datagram.netns.${engine} APPEND PROPERTY LABELS netns)
  endif()
endforeach()
