// File: broker/cluster/cluster_record.cc

#include "broker/cluster/cluster_record.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

#include "common/data_dir.h"
#include "common/uuid.h"

namespace fjord::broker {
namespace {

constexpr size_t max_bytes = 4096;

std::string encode(std::string_view uuid, uint64_t revision) {
    return encode_checked_kv(
        fmt::format("# Fjord broker: the controller cluster this data directory follows and the\n"
                    "# controller revision it has acted on. Do not edit; see docs/reliability.md.\n"
                    "format=1\n"
                    "cluster_uuid={}\n"
                    "applied_revision={}\n",
                    uuid, revision));
}

bool parse_u64(std::string_view text, uint64_t& out, int base = 10) {
    if (text.empty()) {
        return false;
    }
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
    return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

result<cluster_record> cluster_record::open(std::string dir) {
    cluster_record rec(std::move(dir));
    const std::string path = fmt::format("{}/{}", rec._dir, file_name);
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        if (ec) {
            return error_info(data_dir_errc::io_error, fmt::format("{}: {}", path, ec.message()));
        }
        return rec;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return error_info(data_dir_errc::io_error, fmt::format("{}: cannot be read", path));
    }
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    auto pairs = decode_checked_kv(text, path, max_bytes);
    if (!pairs) {
        return pairs.error();
    }
    bool have_format = false;
    bool have_uuid = false;
    bool have_revision = false;
    for (const auto& [key, value] : *pairs) {
        if (key == "format") {
            if (value != "1") {
                return checked_kv_corrupt(path, fmt::format("unsupported format {}", value));
            }
            have_format = true;
        } else if (key == "cluster_uuid") {
            if (!value.empty()) {
                const auto u = parse_uuid(value);
                if (!u || *u != value) {
                    return checked_kv_corrupt(path, fmt::format("bad cluster_uuid \"{}\"", value));
                }
                rec._cluster_uuid = *u;
            }
            have_uuid = true;
        } else if (key == "applied_revision") {
            if (!parse_u64(value, rec._revision) ||
                value.find_first_not_of("0123456789") != std::string_view::npos) {
                return checked_kv_corrupt(path, fmt::format("bad applied_revision \"{}\"", value));
            }
            have_revision = true;
        } else {
            return checked_kv_corrupt(path, fmt::format("unknown key \"{}\"", key));
        }
    }
    if (!have_format || !have_uuid || !have_revision) {
        return checked_kv_corrupt(path, "missing format, cluster_uuid or applied_revision");
    }
    rec._exists = true;
    return rec;
}

result<void> cluster_record::advance(std::string_view cluster_uuid, uint64_t revision) {
    std::string uuid = _cluster_uuid;
    if (!cluster_uuid.empty()) {
        const auto u = parse_uuid(cluster_uuid);
        if (!u) {
            return error_info(data_dir_errc::invalid_uuid,
                              fmt::format("cluster uuid \"{}\" is not a UUID", cluster_uuid));
        }
        if (!_cluster_uuid.empty() && *u != _cluster_uuid) {
            return error_info(
                data_dir_errc::foreign_cluster,
                fmt::format("data dir {} belongs to cluster {}, not {}", _dir, _cluster_uuid, *u));
        }
        uuid = *u;
    }
    const uint64_t rev = std::max(revision, _revision);
    if (_exists && uuid == _cluster_uuid && rev == _revision) {
        return ok();
    }
    if (auto w = write_file_durably(_dir, file_name, encode(uuid, rev)); !w) {
        return w;
    }
    _exists = true;
    _cluster_uuid = std::move(uuid);
    _revision = rev;
    return ok();
}

}  // namespace fjord::broker
