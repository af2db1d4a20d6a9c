# The fuzz targets' corpus replays (fuzz.<name>.replay, label "fuzz") and, with -DASOCK_FUZZ=ON,
# the libFuzzer binaries: all defined in fuzz/CMakeLists.txt, read from here because the
# top-level CMakeLists.txt adds only tests/, tools/ and examples/.
include(${PROJECT_SOURCE_DIR}/fuzz/CMakeLists.txt)
