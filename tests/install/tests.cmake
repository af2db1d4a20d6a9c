# Packaging as users consume it: install, then build a consumer with find_package and pkg-config;
# the shared library exports only asock_* symbols.  (Not in sanitizer builds: a plain consumer
# cannot link an instrumented library; the release build checks the package.)
if(NOT ASOCK_SANITIZE)
  add_test(NAME install.consumer
           COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/check_install.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(install.consumer PROPERTIES LABELS "install" TIMEOUT 300)
endif()
