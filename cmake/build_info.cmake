# cmake -P cmake/build_info.cmake: writes the translation unit behind
# common/build_info.h. Run on every build by the target fjord_build_info_gen
# (common/CMakeLists.txt), it asks git for the revision and rewrites OUTPUT
# only when its text changes (configure_file leaves an identical file alone),
# so an unchanged tree recompiles nothing and a new commit recompiles one file.
#
# Inputs (-D): INPUT (the .cc.in), OUTPUT, SOURCE_DIR (the checkout),
# VERSION (the project version), BUILD_TYPE, GIT (git's path, may be empty).
set(FJORD_BUILD_VERSION "${VERSION}")
set(FJORD_BUILD_TYPE "${BUILD_TYPE}")
if(FJORD_BUILD_TYPE STREQUAL "")
  set(FJORD_BUILD_TYPE "unknown")
endif()
set(FJORD_BUILD_GIT_REVISION "unknown")
if(GIT)
  execute_process(
    COMMAND "${GIT}" -C "${SOURCE_DIR}" describe --always --dirty
    OUTPUT_VARIABLE rev
    ERROR_QUIET
    RESULT_VARIABLE rc
    OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(rc EQUAL 0 AND NOT rev STREQUAL "")
    set(FJORD_BUILD_GIT_REVISION "${rev}")
  endif()
endif()
configure_file("${INPUT}" "${OUTPUT}" @ONLY)
