#pragma once
// File: common/build_info.h
//
// What a binary says it is (`fjord version`, `fjord-controller --version`,
// the version a broker registers with): the release, the git revision it was
// built from and the CMake build type.
//
//   version()       the CMake project version ("0.1.0"), the one place a
//                   release number is written (CMakeLists.txt `project`)
//   git_revision()  `git describe --always --dirty` of the source tree at
//                   build time ("5a5e303", "v0.1.0-3-g5a5e303-dirty"), or
//                   "unknown" when it was built outside a git checkout
//   build_type()    CMAKE_BUILD_TYPE ("RelWithDebInfo")
//
// The definitions live in one generated translation unit
// (<build>/common/build_info.cc from common/build_info.cc.in, rewritten by
// cmake/build_info.cmake only when one of the values changes), never in a
// compile definition: a new commit then recompiles that one file and relinks,
// instead of missing ccache for every object of the project.

#include <string>

namespace fjord::build {

const char* version();
const char* git_revision();
const char* build_type();

/// "<version> (<git revision>, <build type>)", what `--version` prints
/// after the program's name.
std::string describe();

}  // namespace fjord::build
