// File: cli/dev/pki.cc

#include "cli/dev/pki.h"

#include <fstream>
#include <sstream>

#include "common/tls/cert_gen.h"
#include "common/tls/tls.h"

namespace fjord::cli::dev {
namespace {

using namespace std::chrono_literals;

fs::path ca_key_file(const cluster& c) {
    return c.state_dir / "tls" / "ca.key";
}

std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// The key and certificate at (key, cert) if both exist and stay valid for
/// at least a day.
bool usable(const fs::path& key, const fs::path& cert, const fs::path& ca) {
    std::error_code ec;
    if (!fs::exists(key, ec) || !fs::exists(cert, ec)) {
        return false;
    }
    auto c = tls::check_credentials(read_text(key), read_text(cert),
                                    ca.empty() ? std::string() : read_text(ca),
                                    std::chrono::system_clock::now() + 24h);
    return c.has_value();
}

result<void> write_pair(const fs::path& dir, const fs::path& key, const fs::path& cert,
                        const tls::issued& id) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        return error_info(ec, "cannot create " + dir.string() + ": " + ec.message());
    }
    fs::permissions(dir, fs::perms::owner_all, ec);
    if (auto r = tls::write_pem_file(key.string(), id.key_pem, true); !r) {
        return r;
    }
    return tls::write_pem_file(cert.string(), id.cert_pem, false);
}

}  // namespace

fs::path ca_cert_file(const cluster& c) {
    return c.state_dir / "tls" / "ca.crt";
}
fs::path node_cert_file(const dev_process& p) {
    return p.dir / "tls" / "node.crt";
}
fs::path node_key_file(const dev_process& p) {
    return p.dir / "tls" / "node.key";
}

result<void> ensure_pki(const cluster& c) {
    const auto now = std::chrono::system_clock::now();
    tls::issued ca;
    bool new_ca = false;
    if (usable(ca_key_file(c), ca_cert_file(c), {})) {
        ca = {read_text(ca_key_file(c)), read_text(ca_cert_file(c))};
    } else {
        auto made = tls::make_ca({.common_name = "fjord dev CA",
                                  .extra_subject = "O=Fjord dev cluster",
                                  .dns_names = {},
                                  .ip_addresses = {},
                                  .not_before = now - 1h,
                                  .not_after = now + 24h * 3650,
                                  .is_ca = true});
        if (!made) {
            return made.error();
        }
        ca = std::move(*made);
        if (auto r = write_pair(c.state_dir / "tls", ca_key_file(c), ca_cert_file(c), ca); !r) {
            return r;
        }
        new_ca = true;
    }
    std::vector<dev_process> all = processes_of(c.members);
    for (const auto& b : c.brokers) {
        all.push_back(b);
    }
    for (const auto& p : all) {
        // A new CA invalidates every certificate the old one signed.
        if (!new_ca && usable(node_key_file(p), node_cert_file(p), ca_cert_file(c))) {
            continue;
        }
        auto id = tls::issue(ca, {.common_name = fmt::format("{}-{}", p.kind, p.id),
                                  .extra_subject = "O=Fjord dev cluster",
                                  .dns_names = {"localhost"},
                                  .ip_addresses = {loopback},
                                  .not_before = now - 1h,
                                  .not_after = now + 24h * 825,
                                  .is_ca = false});
        if (!id) {
            return id.error();
        }
        if (auto r = write_pair(p.dir / "tls", node_key_file(p), node_cert_file(p), *id); !r) {
            return r;
        }
    }
    return ok();
}

}  // namespace fjord::cli::dev
