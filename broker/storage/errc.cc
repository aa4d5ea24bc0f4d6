// File: broker/storage/errc.cc

#include "broker/storage/errc.h"

#include <string>

namespace fjord::broker::storage {
namespace {

class category final : public std::error_category {
  public:
    const char* name() const noexcept override { return "broker.log"; }
    std::string message(int c) const override {
        switch (static_cast<errc>(c)) {
            case errc::success:
                return "success";
            case errc::invalid_batch:
                return "invalid record batch";
            case errc::corrupt_batch:
                return "record batch fails its CRC";
            case errc::invalid_record:
                return "invalid record";
            case errc::batch_too_large:
                return "record batch too large";
            case errc::batch_exceeds_segment:
                return "record batch larger than a segment";
            case errc::offset_out_of_range:
                return "offset out of range";
            case errc::corrupt:
                return "corrupt data";
            case errc::io_error:
                return "I/O error";
            case errc::invalid_config:
                return "invalid log config";
            case errc::out_of_order_sequence:
                return "out of order sequence number";
            case errc::invalid_producer_epoch:
                return "producer epoch is fenced";
            case errc::not_open:
                return "partition log closed";
        }
        return "unknown broker.log error " + std::to_string(c);
    }
};

}  // namespace

const std::error_category& error_category() {
    static const category c;
    return c;
}

}  // namespace fjord::broker::storage
