// File: broker/kafka/producer_api.cc

#include "broker/kafka/producer_api.h"

#include <charconv>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

#include "broker/kafka/errors.h"
#include "common/data_dir.h"
#include "common/kafka/messages/init_producer_id.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;

constexpr served_api served[] = {{kafka::api_key::init_producer_id, 0, 4}};
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

std::span<const served_api> producer_api::apis() const {
    return served;
}

void producer_api::serve(const kafka::request_view& rq, const connection_info& conn,
                         const reply_fn& reply) {
    auto req = decode_request<kafka::init_producer_id_request>(rq, conn);
    if (!req) {
        reply(reply_t::close_connection());
        return;
    }
    kafka::init_producer_id_response resp;
    if (req->transactional_id) {
        log(log_level::info, "kafka",
            "{} (client {}): InitProducerId with transactional id \"{}\" refused: transactions "
            "are not supported",
            conn.peer, rq.header.client_id.value_or(""), *req->transactional_id);
        resp.error_code = k::invalid_request;
    } else if (auto id = _ids.next(); !id) {
        log(log_level::error, "kafka", "InitProducerId: {}", id.error().detail);
        resp.error_code = k::kafka_storage_error;
    } else {
        resp.producer_id = *id;
        resp.producer_epoch = 0;
    }
    send_response(rq, resp, reply, conn);
}

}  // namespace fjord::broker
