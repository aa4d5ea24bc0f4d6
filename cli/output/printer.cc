#include "cli/output/printer.h"

#include <algorithm>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

namespace fjord::cli {
namespace {

void emit_yaml(YAML::Emitter& e, const nlohmann::json& j) {
    switch (j.type()) {
        case nlohmann::json::value_t::object:
            e << YAML::BeginMap;
            for (const auto& [k, v] : j.items()) {
                e << YAML::Key << k << YAML::Value;
                emit_yaml(e, v);
            }
            e << YAML::EndMap;
            break;
        case nlohmann::json::value_t::array:
            e << YAML::BeginSeq;
            for (const auto& v : j) {
                emit_yaml(e, v);
            }
            e << YAML::EndSeq;
            break;
        case nlohmann::json::value_t::string:
            e << YAML::DoubleQuoted << j.get<std::string>();
            break;
        case nlohmann::json::value_t::boolean:
            e << (j.get<bool>() ? "true" : "false");
            break;
        case nlohmann::json::value_t::null:
            e << YAML::Null;
            break;
        default:
            e << j.dump();
            break;
    }
}

}  // namespace

result<output_format> parse_output_format(std::string_view s) {
    if (s == "text" || s == "short") {
        return output_format::text;
    }
    if (s == "wide" || s == "long") {
        return output_format::wide;
    }
    if (s == "json") {
        return output_format::json;
    }
    if (s == "yaml") {
        return output_format::yaml;
    }
    if (s == "help") {
        return output_format::help;
    }
    return error_info(
        std::make_error_code(std::errc::invalid_argument),
        fmt::format("--format \"{}\" not supported (text, wide, json, yaml, help)", s));
}

std::string render_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> width(headers.size(), 0);
    for (size_t c = 0; c < headers.size(); ++c) {
        width[c] = headers[c].size();
        for (const auto& r : rows) {
            if (c < r.size()) {
                width[c] = std::max(width[c], r[c].size());
            }
        }
    }
    auto line = [&](const std::vector<std::string>& cells, bool upper) {
        std::string out;
        for (size_t c = 0; c < headers.size(); ++c) {
            std::string cell = c < cells.size() ? cells[c] : std::string();
            if (upper) {
                std::transform(cell.begin(), cell.end(), cell.begin(), [](unsigned char ch) {
                    return static_cast<char>(std::toupper(ch));
                });
            }
            out += cell;
            if (c + 1 < headers.size()) {
                out += std::string(width[c] - cell.size() + 2, ' ');
            }
        }
        return out + "\n";
    };
    std::string out = line(headers, true);
    for (const auto& r : rows) {
        out += line(r, false);
    }
    return out;
}

std::string render_json(const nlohmann::json& doc) {
    return doc.dump(2) + "\n";
}

std::string render_yaml(const nlohmann::json& doc) {
    YAML::Emitter e;
    emit_yaml(e, doc);
    return std::string(e.c_str()) + "\n";
}

void print_output(std::ostream& out, output_format f, const nlohmann::json& doc,
                  const std::function<std::string(bool wide)>& text) {
    switch (f) {
        case output_format::json:
            out << render_json(doc);
            break;
        case output_format::yaml:
            out << render_yaml(doc);
            break;
        case output_format::text:
        case output_format::wide:
        case output_format::help:
            out << text(f == output_format::wide);
            break;
    }
}

}  // namespace fjord::cli
