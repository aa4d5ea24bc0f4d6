#pragma once
// File: common/objstore/local_store.h
//
// The local-directory backend of object_store.h: the default store, so that
// `fjord dev` and the tests need nothing else. Several processes (brokers and
// controllers of one or more dev clusters on one machine) may share a
// directory the way they would share a bucket.
//
// Layout: the object under key "a/b/c" is the file <root>/a/b/c. A put
// writes <root>/a/b/c.<random>.fjord-tmp, fsyncs it, renames it over the key
// and fsyncs the directory (parents are created durably first), so a reader
// sees the old object or the new one whole, and a crash leaves at most a
// temporary file, which list() never shows. Keys may therefore not end in
// ".fjord-tmp".
#include <memory>
#include <string>

#include "common/objstore/object_store.h"

namespace fjord::objstore {

/// A store over directory `root` (absolute; created if missing). errc::config
/// if `root` is not absolute or cannot be created.
result<std::unique_ptr<object_store>> make_local_store(const std::string& root);

}  // namespace fjord::objstore
