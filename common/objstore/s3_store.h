#pragma once
// File: common/objstore/s3_store.h
//
// The S3 backend of object_store.h (placeholder on the integration base: the
// S3 work replaces this file and s3_store.cc).
#include <memory>

#include "common/objstore/object_store.h"

namespace fjord::objstore {

result<std::unique_ptr<object_store>> make_s3_store(const store_config& c);

}  // namespace fjord::objstore
