# Packaging as users consume it: install, then build a consumer with find_package and pkg-config;
# the shared library exports only asock_* symbols.
add_test(NAME install.consumer
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/check_install.sh ${CMAKE_BINARY_DIR})
set_tests_properties(install.consumer PROPERTIES LABELS "install" TIMEOUT 300)
