// File: common/objstore/s3_protocol.cc
//
// The S3 backend's pure rules; see s3_protocol.h.
#include "common/objstore/s3_protocol.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/objstore/sigv4.h"

namespace fjord::objstore::s3 {
namespace {

error_info config_error(std::string_view field, std::string_view reason) {
    return error_info::for_field(errc::config, field, reason);
}

bool is_digit(char ch) {
    return ch >= '0' && ch <= '9';
}

bool is_lower_alnum(char ch) {
    return (ch >= 'a' && ch <= 'z') || is_digit(ch);
}

std::optional<uint64_t> parse_u64(std::string_view s) {
    if (s.empty() || !std::all_of(s.begin(), s.end(), is_digit)) {
        return std::nullopt;
    }
    uint64_t v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

/// S3's bucket naming rules (3-63 characters of a-z 0-9 . -, starting and
/// ending with a letter or digit, no "..", not an IPv4 address); "" when ok.
std::string bucket_problem(std::string_view b) {
    if (b.size() < 3 || b.size() > 63) {
        return "must have 3 to 63 characters";
    }
    for (const char ch : b) {
        if (!is_lower_alnum(ch) && ch != '.' && ch != '-') {
            return "may only contain a-z, 0-9, '.' and '-'";
        }
    }
    if (!is_lower_alnum(b.front()) || !is_lower_alnum(b.back())) {
        return "must start and end with a letter or digit";
    }
    if (b.find("..") != std::string_view::npos) {
        return "must not contain \"..\"";
    }
    if (std::all_of(b.begin(), b.end(), [](char ch) { return is_digit(ch) || ch == '.'; })) {
        return "must not look like an IP address";
    }
    return "";
}

bool is_ip_literal(std::string_view h) {
    if (!h.empty() && h.front() == '[') {
        return true;
    }
    return !h.empty() &&
           std::all_of(h.begin(), h.end(), [](char ch) { return is_digit(ch) || ch == '.'; });
}

/// A host name or an IPv4 address, or an IPv6 address in brackets; "" when ok.
std::string host_problem(std::string_view h) {
    if (h.empty()) {
        return "empty";
    }
    if (h.find("://") != std::string_view::npos) {
        return "give a host name without a scheme (TLS is cloud_storage_disable_tls)";
    }
    if (h.front() == '[') {
        if (h.back() != ']' || h.size() < 3) {
            return "an IPv6 address must be in brackets, without a port";
        }
        for (const char ch : h.substr(1, h.size() - 2)) {
            if (!std::isxdigit(static_cast<unsigned char>(ch)) && ch != ':' && ch != '.') {
                return "not an IPv6 address";
            }
        }
        return "";
    }
    if (h.find(':') != std::string_view::npos) {
        return "give the port in cloud_storage_api_endpoint_port, not here";
    }
    if (h.find('/') != std::string_view::npos) {
        return "give a host name without a path";
    }
    for (const char ch : h) {
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '-' && ch != '_') {
            return "not a host name";
        }
    }
    if (h.front() == '.' || h.back() == '.' || h.find("..") != std::string_view::npos) {
        return "not a host name";
    }
    return "";
}

bool starts_with(std::string_view s, std::string_view p) {
    return s.substr(0, p.size()) == p;
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

bool xml_space(char ch) {
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

bool name_start(char ch) {
    return std::isalpha(static_cast<unsigned char>(ch)) || ch == '_' || ch == ':' ||
           (static_cast<unsigned char>(ch) >= 0x80);
}

bool name_char(char ch) {
    return name_start(ch) || is_digit(ch) || ch == '-' || ch == '.';
}

error_info xml_error(size_t at, std::string_view what) {
    return error_info(errc::corrupt,
                      "malformed XML at byte " + std::to_string(at) + ": " + std::string(what));
}

std::string local_name(std::string_view n) {
    const size_t colon = n.rfind(':');
    return std::string(colon == std::string_view::npos ? n : n.substr(colon + 1));
}

constexpr size_t max_xml_depth = 64;

}  // namespace

// ---------------------------------------------------------------- addressing

std::string endpoint::host_header() const {
    const bool default_port = tls ? port == 443 : port == 80;
    return default_port ? host : host + ":" + std::to_string(port);
}

std::string endpoint::path(std::string_view key) const {
    if (path_style) {
        return key.empty() ? "/" + bucket : "/" + bucket + "/" + std::string(key);
    }
    return "/" + std::string(key);
}

std::string endpoint::url(std::string_view p, std::string_view canonical_query) const {
    std::string u = tls ? "https://" : "http://";
    u += host + ":" + std::to_string(port) + sigv4::encode_path(p);
    if (!canonical_query.empty()) {
        u += "?" + std::string(canonical_query);
    }
    return u;
}

std::string endpoint::describe() const {
    return "s3://" + bucket + " (" + host + ":" + std::to_string(port) + ", " + region + ", " +
           (path_style ? "path-style" : "virtual-host") + ", " + (tls ? "tls" : "no tls") + ")";
}

result<endpoint> make_endpoint(const store_config& c) {
    if (c.kind != store_config::backend::s3) {
        return config_error("cloud_storage_backend", "not s3");
    }
    if (const std::string p = bucket_problem(c.bucket); !p.empty()) {
        return config_error("cloud_storage_bucket",
                            "\"" + c.bucket + "\" is not an S3 bucket name: " + p);
    }
    if (c.region.empty() || !std::all_of(c.region.begin(), c.region.end(),
                                         [](char ch) { return is_lower_alnum(ch) || ch == '-'; })) {
        return config_error("cloud_storage_region",
                            "\"" + c.region + "\" is not a region name (a-z, 0-9, '-')");
    }
    endpoint ep;
    ep.tls = !c.disable_tls;
    ep.port = c.port;
    ep.path_style = c.path_style;
    ep.bucket = c.bucket;
    ep.region = c.region;
    ep.host = c.endpoint.empty() ? "s3." + c.region + ".amazonaws.com" : c.endpoint;
    if (const std::string p = host_problem(ep.host); !p.empty()) {
        return config_error("cloud_storage_api_endpoint", "\"" + c.endpoint + "\": " + p);
    }
    if (c.port < 1 || c.port > 65535) {
        return config_error("cloud_storage_api_endpoint_port",
                            std::to_string(c.port) + " is not a port (1-65535)");
    }
    if (!c.path_style) {
        if (is_ip_literal(ep.host)) {
            return config_error("cloud_storage_url_style",
                                "virtual-host addressing needs a host name, not the IP address "
                                "\"" +
                                    ep.host + "\"; use path");
        }
        if (ep.tls && c.bucket.find('.') != std::string::npos) {
            return config_error("cloud_storage_url_style",
                                "virtual-host addressing over TLS needs a bucket name without "
                                "'.' (the certificate cannot cover \"" +
                                    c.bucket + "." + ep.host + "\"); use path");
        }
        ep.host = c.bucket + "." + ep.host;
    }
    if (c.request_timeout_ms < 1 || c.request_timeout_ms > 3600000) {
        return config_error(
            "cloud_storage_request_timeout_ms",
            std::to_string(c.request_timeout_ms) + " is out of range (1 ms to 1 hour)");
    }
    if (c.max_retries < 0 || c.max_retries > 100) {
        return config_error("cloud_storage_max_retries",
                            std::to_string(c.max_retries) + " is out of range (0 to 100)");
    }
    if (c.backoff_ms < 0 || c.backoff_ms > max_backoff_ms) {
        return config_error("cloud_storage_initial_backoff_ms",
                            std::to_string(c.backoff_ms) + " is out of range (0 to " +
                                std::to_string(max_backoff_ms) + ")");
    }
    return ep;
}

// ------------------------------------------------------------ classification

verdict classify(const attempt& a) {
    switch (a.how) {
        case transport::ok:
            break;
        case transport::timeout:
            return {false, true, errc::timeout};
        case transport::connect:
            return {false, true, errc::transient};
        case transport::partial:
            return {false, true, errc::corrupt};
        case transport::tls:
            return {false, false, errc::rejected};
        case transport::other:
            return {false, false, errc::io_error};
    }
    if (a.status >= 200 && a.status < 300) {
        return {true, false, errc::io_error};
    }
    // S3 sends SlowDown with 503, RequestTimeout ("your socket connection
    // was not read from or written to in time") with 400: both are
    // transient whatever the status says.
    if (a.error_code == "SlowDown" || a.error_code == "RequestTimeout") {
        return {false, true, errc::transient};
    }
    if (a.status == 429 || a.status >= 500) {
        return {false, true, errc::transient};
    }
    if (a.status == 404 && a.error_code != "NoSuchBucket") {
        return {false, false, errc::not_found};
    }
    return {false, false, errc::rejected};
}

std::chrono::milliseconds backoff_delay(int retry, int64_t base_ms, uint64_t random) {
    int64_t ceiling = std::max<int64_t>(base_ms, 0);
    for (int i = 0; i < retry && ceiling < max_backoff_ms; ++i) {
        ceiling *= 2;
    }
    ceiling = std::min(ceiling, max_backoff_ms);
    return std::chrono::milliseconds(
        static_cast<int64_t>(random % (static_cast<uint64_t>(ceiling) + 1)));
}

// ----------------------------------------------------------------------- XML

const xml_node* xml_node::child(std::string_view n) const {
    for (const xml_node& c : children) {
        if (c.name == n) {
            return &c;
        }
    }
    return nullptr;
}

result<std::string> decode_entities(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        if (s[i] != '&') {
            out.push_back(s[i++]);
            continue;
        }
        const size_t semi = s.find(';', i);
        if (semi == std::string_view::npos || semi - i > 12) {
            return error_info(errc::corrupt, "malformed XML: '&' without an entity");
        }
        const std::string_view ent = s.substr(i + 1, semi - i - 1);
        if (ent == "amp") {
            out.push_back('&');
        } else if (ent == "lt") {
            out.push_back('<');
        } else if (ent == "gt") {
            out.push_back('>');
        } else if (ent == "quot") {
            out.push_back('"');
        } else if (ent == "apos") {
            out.push_back('\'');
        } else if (ent.size() >= 2 && ent[0] == '#') {
            const bool hex = ent[1] == 'x' || ent[1] == 'X';
            const std::string_view digits = ent.substr(hex ? 2 : 1);
            uint32_t cp = 0;
            const auto [p, ec] =
                std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
            if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size() ||
                cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
                return error_info(errc::corrupt, "malformed XML: bad character reference &" +
                                                     std::string(ent) + ";");
            }
            append_utf8(out, cp);
        } else {
            return error_info(errc::corrupt,
                              "malformed XML: unknown entity &" + std::string(ent) + ";");
        }
        i = semi + 1;
    }
    return out;
}

result<xml_node> parse_xml(std::string_view doc) {
    std::vector<xml_node> open;
    std::optional<xml_node> root;
    size_t i = 0;
    auto close_element = [&](xml_node n, size_t at) -> result<void> {
        if (!open.empty()) {
            open.back().children.push_back(std::move(n));
            return ok();
        }
        if (root) {
            return xml_error(at, "a second root element");
        }
        root = std::move(n);
        return ok();
    };
    while (i < doc.size()) {
        if (doc[i] != '<') {
            size_t j = doc.find('<', i);
            j = j == std::string_view::npos ? doc.size() : j;
            const std::string_view text = doc.substr(i, j - i);
            if (open.empty()) {
                if (!std::all_of(text.begin(), text.end(), xml_space)) {
                    return xml_error(i, "text outside the root element");
                }
            } else {
                auto t = decode_entities(text);
                if (!t) {
                    return t.error();
                }
                open.back().text += *t;
            }
            i = j;
            continue;
        }
        const std::string_view rest = doc.substr(i);
        if (starts_with(rest, "<?")) {
            const size_t end = doc.find("?>", i + 2);
            if (end == std::string_view::npos) {
                return xml_error(i, "unterminated <?");
            }
            i = end + 2;
        } else if (starts_with(rest, "<!--")) {
            const size_t end = doc.find("-->", i + 4);
            if (end == std::string_view::npos) {
                return xml_error(i, "unterminated comment");
            }
            i = end + 3;
        } else if (starts_with(rest, "<![CDATA[")) {
            const size_t end = doc.find("]]>", i + 9);
            if (end == std::string_view::npos || open.empty()) {
                return xml_error(i, "unterminated CDATA, or CDATA outside the root");
            }
            open.back().text += doc.substr(i + 9, end - i - 9);
            i = end + 3;
        } else if (starts_with(rest, "<!")) {
            const size_t end = doc.find('>', i + 2);
            const size_t bracket = doc.find('[', i + 2);
            if (end == std::string_view::npos || bracket < end) {
                return xml_error(i, "a declaration this parser does not read (DTD subset)");
            }
            i = end + 1;
        } else if (starts_with(rest, "</")) {
            size_t j = i + 2;
            while (j < doc.size() && name_char(doc[j])) {
                ++j;
            }
            const std::string name = local_name(doc.substr(i + 2, j - i - 2));
            while (j < doc.size() && xml_space(doc[j])) {
                ++j;
            }
            if (j >= doc.size() || doc[j] != '>') {
                return xml_error(i, "malformed end tag");
            }
            if (open.empty() || open.back().name != name) {
                return xml_error(i, "end tag </" + name + "> does not match the open element");
            }
            xml_node n = std::move(open.back());
            open.pop_back();
            if (auto r = close_element(std::move(n), i); !r) {
                return r.error();
            }
            i = j + 1;
        } else {
            size_t j = i + 1;
            if (j >= doc.size() || !name_start(doc[j])) {
                return xml_error(i, "'<' not starting a tag");
            }
            while (j < doc.size() && name_char(doc[j])) {
                ++j;
            }
            xml_node n;
            n.name = local_name(doc.substr(i + 1, j - i - 1));
            bool self_closing = false;
            while (true) {
                while (j < doc.size() && xml_space(doc[j])) {
                    ++j;
                }
                if (j >= doc.size()) {
                    return xml_error(i, "unterminated start tag");
                }
                if (doc[j] == '>') {
                    ++j;
                    break;
                }
                if (doc[j] == '/' && j + 1 < doc.size() && doc[j + 1] == '>') {
                    self_closing = true;
                    j += 2;
                    break;
                }
                // An attribute: name = "value" (values are not needed).
                const size_t attr = j;
                while (j < doc.size() && name_char(doc[j])) {
                    ++j;
                }
                while (j < doc.size() && xml_space(doc[j])) {
                    ++j;
                }
                if (j == attr || j >= doc.size() || doc[j] != '=') {
                    return xml_error(attr, "malformed attribute");
                }
                ++j;
                while (j < doc.size() && xml_space(doc[j])) {
                    ++j;
                }
                if (j >= doc.size() || (doc[j] != '"' && doc[j] != '\'')) {
                    return xml_error(attr, "attribute value not quoted");
                }
                const size_t close = doc.find(doc[j], j + 1);
                if (close == std::string_view::npos) {
                    return xml_error(attr, "unterminated attribute value");
                }
                j = close + 1;
            }
            if (self_closing) {
                if (auto r = close_element(std::move(n), i); !r) {
                    return r.error();
                }
            } else {
                if (open.size() >= max_xml_depth) {
                    return xml_error(i, "elements nested too deep");
                }
                open.push_back(std::move(n));
            }
            i = j;
        }
    }
    if (!open.empty()) {
        return xml_error(doc.size(), "element <" + open.back().name + "> not closed");
    }
    if (!root) {
        return xml_error(doc.size(), "no root element");
    }
    return std::move(*root);
}

std::optional<error_document> parse_error_document(std::string_view body) {
    auto doc = parse_xml(body);
    if (!doc || doc->name != "Error") {
        return std::nullopt;
    }
    error_document e;
    if (const xml_node* c = doc->child("Code")) {
        e.code = c->text;
    }
    if (const xml_node* m = doc->child("Message")) {
        e.message = m->text;
    }
    return e;
}

result<list_page> parse_list_page(std::string_view body) {
    auto doc = parse_xml(body);
    if (!doc) {
        return error_info(errc::corrupt, "ListObjectsV2 reply: " + doc.error().detail);
    }
    if (doc->name != "ListBucketResult") {
        return error_info(errc::corrupt, "ListObjectsV2 reply: root element <" + doc->name +
                                             ">, not <ListBucketResult>");
    }
    list_page page;
    for (const xml_node& c : doc->children) {
        if (c.name != "Contents") {
            continue;
        }
        const xml_node* key = c.child("Key");
        const xml_node* size = c.child("Size");
        if (key == nullptr || key->text.empty()) {
            return error_info(errc::corrupt, "ListObjectsV2 reply: <Contents> without a <Key>");
        }
        const std::optional<uint64_t> n = size == nullptr ? std::nullopt : parse_u64(size->text);
        if (!n) {
            return error_info(errc::corrupt, "ListObjectsV2 reply: <Contents> of \"" + key->text +
                                                 "\" without a decimal <Size>");
        }
        page.objects.push_back({key->text, *n});
    }
    if (const xml_node* t = doc->child("IsTruncated")) {
        if (t->text != "true" && t->text != "false") {
            return error_info(errc::corrupt,
                              "ListObjectsV2 reply: <IsTruncated> is \"" + t->text + "\"");
        }
        page.truncated = t->text == "true";
    }
    if (const xml_node* t = doc->child("NextContinuationToken")) {
        page.next_token = t->text;
    }
    if (page.truncated && page.next_token.empty()) {
        return error_info(errc::corrupt,
                          "ListObjectsV2 reply: truncated, but no <NextContinuationToken>");
    }
    return page;
}

// ---------------------------------------------------------- range responses

std::optional<content_range> parse_content_range(std::string_view v) {
    constexpr std::string_view unit = "bytes ";
    if (!starts_with(v, unit)) {
        return std::nullopt;
    }
    v.remove_prefix(unit.size());
    const size_t dash = v.find('-');
    const size_t slash = v.find('/');
    if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) {
        return std::nullopt;
    }
    const auto first = parse_u64(v.substr(0, dash));
    const auto last = parse_u64(v.substr(dash + 1, slash - dash - 1));
    if (!first || !last || *last < *first) {
        return std::nullopt;
    }
    content_range r{*first, *last, std::nullopt};
    const std::string_view total = v.substr(slash + 1);
    if (total != "*") {
        r.total = parse_u64(total);
        if (!r.total || *r.total <= *last) {
            return std::nullopt;
        }
    }
    return r;
}

std::string check_partial_reply(byte_range asked, const std::optional<content_range>& got,
                                uint64_t body_size) {
    if (!got) {
        return "a 206 reply without a valid Content-Range";
    }
    const std::string shown =
        "Content-Range bytes " + std::to_string(got->first) + "-" + std::to_string(got->last) +
        " for bytes=" + std::to_string(asked.first) + "-" + std::to_string(asked.last);
    if (got->first != asked.first || got->last > asked.last) {
        return shown + " (not the range asked)";
    }
    if (got->last < asked.last && (!got->total || got->last + 1 != *got->total)) {
        return shown + " (shorter than asked, yet not at the object's end)";
    }
    if (body_size != got->last - got->first + 1) {
        return shown + " with a body of " + std::to_string(body_size) + " bytes";
    }
    return "";
}

}  // namespace fjord::objstore::s3
