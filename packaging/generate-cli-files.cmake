# packaging/generate-cli-files.cmake: an install script of the cli component
# (packaging/CMakeLists.txt). Runs the built fjord (FJORD_CLI) to write what
# is generated from its command tree into the install tree:
#   share/man/man1/*.1.gz                      `fjord __generate man DIR`, gzip -9n
#   share/bash-completion/completions/fjord    `fjord completion bash`
#   share/zsh/vendor-completions/_fjord        `fjord completion zsh` (Debian's fpath)
#   share/fish/vendor_completions.d/fjord.fish `fjord completion fish`
# fjord runs with an empty HOME so no profile of the packager's leaks in.
set(stage "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}")
# Scratch space outside the install tree (whatever lands there is packaged).
string(RANDOM LENGTH 10 rand)
set(tmp "/tmp")
if(DEFINED ENV{TMPDIR} AND NOT "$ENV{TMPDIR}" STREQUAL "")
  set(tmp "$ENV{TMPDIR}")
endif()
set(tmp "${tmp}/fjord-generated-${rand}")
file(REMOVE_RECURSE "${tmp}")
file(MAKE_DIRECTORY "${tmp}/home")
set(run ${CMAKE_COMMAND} -E env HOME=${tmp}/home XDG_CONFIG_HOME=${tmp}/home/.config
        XDG_STATE_HOME=${tmp}/home/.state FJORD_PROFILE= FJORD_CONFIG= ${FJORD_CLI})

execute_process(COMMAND ${run} __generate man "${tmp}/man1" RESULT_VARIABLE rc
                OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fjord __generate man failed (${rc}): ${err}")
endif()
file(GLOB pages RELATIVE "${tmp}/man1" "${tmp}/man1/*.1")
file(MAKE_DIRECTORY "${stage}/share/man/man1")
foreach(page IN LISTS pages)
  # -n: no name or time stamp in the archive, so the package is reproducible.
  execute_process(COMMAND gzip -9n -c "${tmp}/man1/${page}"
                  OUTPUT_FILE "${stage}/share/man/man1/${page}.gz" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip ${page} failed")
  endif()
endforeach()
list(LENGTH pages n)
message(STATUS "fjord: ${n} manual pages in ${stage}/share/man/man1")

foreach(spec "bash;share/bash-completion/completions;fjord"
             "zsh;share/zsh/vendor-completions;_fjord"
             "fish;share/fish/vendor_completions.d;fjord.fish")
  list(GET spec 0 shell)
  list(GET spec 1 dir)
  list(GET spec 2 name)
  file(MAKE_DIRECTORY "${stage}/${dir}")
  execute_process(COMMAND ${run} completion ${shell} OUTPUT_FILE "${stage}/${dir}/${name}"
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fjord completion ${shell} failed (${rc}): ${err}")
  endif()
endforeach()
file(REMOVE_RECURSE "${tmp}")
