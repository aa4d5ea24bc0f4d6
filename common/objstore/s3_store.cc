// File: common/objstore/s3_store.cc (integration-base placeholder; replaced by the S3 backend)
#include "common/objstore/s3_store.h"

#include "common/objstore/errc.h"

namespace fjord::objstore {

result<std::unique_ptr<object_store>> make_s3_store(const store_config&) {
    return error_info::for_field(errc::config, "cloud_storage_backend", "s3 is not built yet");
}

}  // namespace fjord::objstore
