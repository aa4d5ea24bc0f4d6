# packaging/write-changelog.cmake: an install script of every component
# (packaging/CMakeLists.txt): writes share/doc/<package>/changelog.gz, the
# Debian changelog a binary package must carry, with the version cpack gives
# the package (version.cmake) and the git revision it was built from.
# Inputs: FJORD_CHANGELOG_PACKAGE, FJORD_SOURCE_DIR, FJORD_PROJECT_VERSION.
include("${CMAKE_CURRENT_LIST_DIR}/version.cmake")
fjord_package_version("${FJORD_SOURCE_DIR}" "${FJORD_PROJECT_VERSION}")
set(stage "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}")
set(dir "${stage}/share/doc/${FJORD_CHANGELOG_PACKAGE}")
file(MAKE_DIRECTORY "${dir}")
# The date of the commit, not of the build, so a rebuild is identical.
set(date "")
find_program(FJORD_GIT git)
if(FJORD_GIT)
  execute_process(COMMAND "${FJORD_GIT}" -C "${FJORD_SOURCE_DIR}" log -1 --format=%aD
                  OUTPUT_VARIABLE date ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
endif()
if(date STREQUAL "")
  set(date "Thu, 01 Jan 1970 00:00:00 +0000")
endif()
file(WRITE "${dir}/changelog"
"${FJORD_CHANGELOG_PACKAGE} (${FJORD_DEB_VERSION}) unstable; urgency=medium

  * Built from the Fjord source at ${FJORD_DEB_VERSION}.
    The project's history is its git log.

 -- Fjord developers <fjord-dev@fjord.invalid>  ${date}
")
execute_process(COMMAND gzip -9nf "${dir}/changelog" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip ${dir}/changelog failed")
endif()
