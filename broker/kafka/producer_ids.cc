// File: broker/kafka/producer_ids.cc

#include "broker/kafka/producer_ids.h"

#include <charconv>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

#include "common/data_dir.h"

namespace fjord::broker {
namespace {

constexpr uint64_t counter_limit = uint64_t{1} << 32;

}  // namespace

result<producer_id_allocator> producer_id_allocator::open(std::string dir, int32_t node_id) {
    if (node_id < 0) {
        return error_info(std::make_error_code(std::errc::invalid_argument),
                          fmt::format("node_id {}: producer ids need a non-negative id", node_id));
    }
    producer_id_allocator a(std::move(dir), node_id);
    const std::string path = a._dir + "/" + std::string(file_name);
    std::ifstream in(path);
    if (in) {
        std::stringstream ss;
        ss << in.rdbuf();
        std::string text = ss.str();
        while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
            text.pop_back();
        }
        uint64_t v = 0;
        const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || p != text.data() + text.size() || v > counter_limit) {
            return error_info(
                std::make_error_code(std::errc::invalid_argument),
                fmt::format("{}: not a producer id reservation: \"{}\"", path, text.substr(0, 40)));
        }
        a._next = v;
        a._reserved = v;
    }
    if (auto r = a.reserve(a._next + block); !r) {
        return r.error();
    }
    return a;
}

result<void> producer_id_allocator::reserve(uint64_t until) {
    until = std::min(until, counter_limit);
    if (auto r = write_file_durably(_dir, file_name, fmt::format("{}\n", until)); !r) {
        return r;
    }
    _reserved = until;
    return ok();
}

result<int64_t> producer_id_allocator::next() {
    if (_next >= _reserved) {
        if (_reserved >= counter_limit) {
            return error_info(std::make_error_code(std::errc::value_too_large),
                              fmt::format("node {} has handed out all 2^32 producer ids", _node));
        }
        if (auto r = reserve(_next + block); !r) {
            return r.error();
        }
    }
    const uint64_t counter = _next++;
    return static_cast<int64_t>((static_cast<uint64_t>(_node) << 32) | counter);
}

}  // namespace fjord::broker
