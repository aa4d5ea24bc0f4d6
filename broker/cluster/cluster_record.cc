// File: broker/cluster/cluster_record.cc

#include "broker/cluster/cluster_record.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

#include "common/crc32c.h"
#include "common/data_dir.h"
#include "common/uuid.h"

namespace fjord::broker {
namespace {

constexpr size_t max_bytes = 4096;

std::string encode(std::string_view uuid, uint64_t revision) {
    std::string body = fmt::format(
        "# Fjord broker: the controller cluster this data directory follows and the\n"
        "# controller revision it has acted on. Do not edit; see docs/reliability.md.\n"
        "format=1\n"
        "cluster_uuid={}\n"
        "applied_revision={}\n",
        uuid, revision);
    body += fmt::format("crc32c={:08x}\n", crc32c(body));
    return body;
}

error_info corrupt(const std::string& path, std::string_view why) {
    return error_info(data_dir_errc::corrupt,
                      fmt::format("{}: {}; the file is damaged or was edited", path, why));
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
    if (text.size() > max_bytes) {
        return corrupt(path, fmt::format("larger than {} bytes", max_bytes));
    }
    const size_t crc_at = text.rfind("crc32c=");
    if (!text.ends_with('\n') || crc_at == std::string::npos ||
        (crc_at != 0 && text[crc_at - 1] != '\n')) {
        return corrupt(path, "no crc32c line");
    }
    uint64_t want = 0;
    const std::string_view crc_text =
        std::string_view(text).substr(crc_at + 7, text.size() - crc_at - 8);
    if (crc_text.size() != 8 || !parse_u64(crc_text, want, 16)) {
        return corrupt(path, "malformed crc32c line");
    }
    const std::string_view body = std::string_view(text).substr(0, crc_at);
    if (crc32c(body) != want) {
        return corrupt(path, "checksum mismatch");
    }
    bool have_format = false;
    bool have_uuid = false;
    bool have_revision = false;
    size_t start = 0;
    while (start < body.size()) {
        size_t nl = body.find('\n', start);
        if (nl == std::string_view::npos) {
            nl = body.size();
        }
        const std::string_view line = body.substr(start, nl - start);
        start = nl + 1;
        if (line.empty() || line.starts_with('#')) {
            continue;
        }
        const size_t eq = line.find('=');
        if (eq == std::string_view::npos) {
            return corrupt(path, fmt::format("line \"{}\" is not key=value", line));
        }
        const std::string_view key = line.substr(0, eq);
        const std::string_view value = line.substr(eq + 1);
        if (key == "format") {
            if (value != "1") {
                return corrupt(path, fmt::format("unsupported format {}", value));
            }
            have_format = true;
        } else if (key == "cluster_uuid") {
            if (!value.empty()) {
                const auto u = parse_uuid(value);
                if (!u || *u != value) {
                    return corrupt(path, fmt::format("bad cluster_uuid \"{}\"", value));
                }
                rec._cluster_uuid = *u;
            }
            have_uuid = true;
        } else if (key == "applied_revision") {
            if (!parse_u64(value, rec._revision) ||
                value.find_first_not_of("0123456789") != std::string_view::npos) {
                return corrupt(path, fmt::format("bad applied_revision \"{}\"", value));
            }
            have_revision = true;
        } else {
            return corrupt(path, fmt::format("unknown key \"{}\"", key));
        }
    }
    if (!have_format || !have_uuid || !have_revision) {
        return corrupt(path, "missing format, cluster_uuid or applied_revision");
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
