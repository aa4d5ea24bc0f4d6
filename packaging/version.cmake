# packaging/version.cmake: the packages' version, from the one release number
# (the CMake project version) and git: included at configure time
# (packaging/CMakeLists.txt), at cpack time (CPackProjectConfig.cmake) and by
# the install script that writes the Debian changelog, so all three agree on
# the tree as it is when cpack runs.
#
# fjord_package_version(SOURCE_DIR PROJECT_VERSION) sets, in the caller:
#   FJORD_DEB_VERSION   "0.1.0" at a clean checkout of the tag v0.1.0, else
#                       "0.1.0~git<commits>.<sha>" (".dirty" appended for a
#                       modified tree): "~" sorts before the release itself
#   FJORD_RPM_RELEASE   "1" at the tag, else "0.git<commits>.<sha>[.dirty]"
#                       (RPM's pre-release convention; Version stays 0.1.0)
#   Without git (a source tarball): "0.1.0~unknown" and "0.unknown".
function(fjord_package_version source_dir project_version)
  set(deb "${project_version}~unknown")
  set(rel "0.unknown")
  find_program(FJORD_GIT git)
  if(FJORD_GIT)
    execute_process(COMMAND "${FJORD_GIT}" -C "${source_dir}" rev-parse --short=7 HEAD
                    OUTPUT_VARIABLE sha RESULT_VARIABLE rc1 ERROR_QUIET
                    OUTPUT_STRIP_TRAILING_WHITESPACE)
    execute_process(COMMAND "${FJORD_GIT}" -C "${source_dir}" rev-list --count HEAD
                    OUTPUT_VARIABLE count RESULT_VARIABLE rc2 ERROR_QUIET
                    OUTPUT_STRIP_TRAILING_WHITESPACE)
    execute_process(COMMAND "${FJORD_GIT}" -C "${source_dir}" describe --always --dirty
                    OUTPUT_VARIABLE described RESULT_VARIABLE rc3 ERROR_QUIET
                    OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(rc1 EQUAL 0 AND rc2 EQUAL 0 AND rc3 EQUAL 0)
      set(dirty "")
      if(described MATCHES "-dirty$")
        set(dirty ".dirty")
      endif()
      if(described STREQUAL "v${project_version}")
        set(deb "${project_version}")
        set(rel "1")
      else()
        set(deb "${project_version}~git${count}.${sha}${dirty}")
        set(rel "0.git${count}.${sha}${dirty}")
      endif()
    endif()
  endif()
  set(FJORD_DEB_VERSION "${deb}" PARENT_SCOPE)
  set(FJORD_RPM_RELEASE "${rel}" PARENT_SCOPE)
endfunction()
