// File: cli/profile.cc
//
// Loading, validating and atomically saving the profile file (format and
// rules in cli/profile.h). yaml-cpp throws on malformed input; every call
// into it is inside a try block here, so no exception leaves this file.

#include "cli/profile.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace fjord::cli {
namespace {

constexpr size_t max_file_bytes = 1 << 20;

error_info invalid(std::string detail) {
    return error_info(std::make_error_code(std::errc::invalid_argument), std::move(detail));
}

error_info os_error(int err, std::string detail) {
    return error_info(std::error_code(err, std::generic_category()),
                      fmt::format("{}: {}", detail, std::strerror(err)));
}

/// Closes a file descriptor on scope exit (flocks go with it).
class fd_guard {
  public:
    explicit fd_guard(int fd) : _fd(fd) {}
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    ~fd_guard() {
        if (_fd >= 0) {
            ::close(_fd);
        }
    }
    int get() const { return _fd; }

  private:
    int _fd;
};

/// Collects "<file>: <path>: <reason> (line N)" problems in line order.
class problems {
  public:
    explicit problems(std::string file) : _file(std::move(file)) {}
    void add(const YAML::Node& at, const std::string& path, const std::string& why) {
        const int line = at.Mark().line >= 0 ? at.Mark().line + 1 : 0;
        _items.emplace(line, fmt::format("{}: {}: {}{}", _file, path, why,
                                         line > 0 ? fmt::format(" (line {})", line) : ""));
    }
    bool empty() const { return _items.empty(); }
    std::string text() const {
        std::string out;
        for (const auto& [line, msg] : _items) {
            out += (out.empty() ? "" : "\n") + msg;
        }
        return out;
    }

  private:
    std::string _file;
    std::multimap<int, std::string> _items;
};

std::string type_name(const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Map:
            return "a map";
        case YAML::NodeType::Sequence:
            return "a list";
        case YAML::NodeType::Scalar:
            return "a scalar";
        case YAML::NodeType::Null:
            return "empty";
        default:
            return "undefined";
    }
}

/// A settings value: a scalar, or for host:port lists a list of scalars
/// (joined with commas). Empty means "not a usable value".
std::string settings_value_text(const std::string& key, const YAML::Node& v) {
    if (v.IsScalar()) {
        return v.Scalar();
    }
    if (v.IsSequence() && (key == "controllers" || key == "brokers")) {
        std::string out;
        for (const auto& item : v) {
            if (!item.IsScalar()) {
                return {};
            }
            out += (out.empty() ? "" : ",") + item.Scalar();
        }
        return out;
    }
    return {};
}

void load_profile(const YAML::Node& node, size_t index, problems& errs, profile_file& out,
                  std::set<std::string>& seen_names) {
    std::string label = fmt::format("profiles[{}]", index);
    if (!node.IsMap()) {
        errs.add(node, label,
                 fmt::format("expected a map with name and settings, found {}", type_name(node)));
        return;
    }
    profile p;
    // The name first, so later problems can say which profile they are in.
    if (const YAML::Node n = node["name"]; n && n.IsScalar()) {
        p.name = n.Scalar();
        if (auto r = validate_profile_name(p.name); !r) {
            errs.add(n, label + ".name", r.error().detail);
        } else {
            label = fmt::format("profiles[{}]", p.name);
            if (!seen_names.insert(p.name).second) {
                errs.add(n, label, "a second profile with this name");
            }
        }
    } else {
        errs.add(node, label + ".name", "required (a profile name)");
    }
    std::set<std::string> seen_keys;
    for (const auto& kv : node) {
        const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
        if (!seen_keys.insert(key).second) {
            errs.add(kv.first, label + "." + key, "duplicate key");
            continue;
        }
        if (key == "name") {
            continue;
        }
        if (key == "description") {
            if (kv.second.IsScalar()) {
                p.description = kv.second.Scalar();
            } else if (!kv.second.IsNull()) {
                errs.add(kv.second, label + ".description",
                         fmt::format("expected text, found {}", type_name(kv.second)));
            }
            continue;
        }
        if (key == "settings") {
            if (kv.second.IsNull()) {
                continue;
            }
            if (!kv.second.IsMap()) {
                errs.add(kv.second, label + ".settings",
                         fmt::format("expected a map of -X keys, found {}", type_name(kv.second)));
                continue;
            }
            for (const auto& s : kv.second) {
                const std::string raw = s.first.IsScalar() ? s.first.Scalar() : std::string();
                const setting_key* k = find_setting_key(raw);
                const std::string path = label + ".settings." + raw;
                if (k == nullptr) {
                    errs.add(s.first, path, unknown_key_message(raw));
                    continue;
                }
                if (p.values.contains(k->name)) {
                    errs.add(s.first, path, "duplicate key");
                    continue;
                }
                if (s.second.IsNull()) {
                    errs.add(s.first, path, "no value (remove the key to use the default)");
                    continue;
                }
                const std::string value = settings_value_text(k->name, s.second);
                if (!s.second.IsScalar() && value.empty()) {
                    errs.add(s.second, path,
                             fmt::format("expected a value, found {}", type_name(s.second)));
                    continue;
                }
                if (auto r = validate_setting_value(k->name, value); !r) {
                    errs.add(s.second, path, r.error().detail);
                    continue;
                }
                p.values[k->name] = value;
            }
            continue;
        }
        errs.add(kv.first, label + "." + key, "unknown key (expected name, description, settings)");
    }
    out.profiles.push_back(std::move(p));
}

void emit(YAML::Emitter& e, const profile_file& f) {
    e << YAML::BeginMap;
    e << YAML::Key << "version" << YAML::Value << 1;
    if (!f.current.empty()) {
        e << YAML::Key << "current_profile" << YAML::Value << f.current;
    }
    e << YAML::Key << "profiles" << YAML::Value << YAML::BeginSeq;
    for (const auto& p : f.profiles) {
        e << YAML::BeginMap;
        e << YAML::Key << "name" << YAML::Value << p.name;
        if (!p.description.empty()) {
            e << YAML::Key << "description" << YAML::Value << p.description;
        }
        e << YAML::Key << "settings" << YAML::Value << YAML::BeginMap;
        for (const auto& [k, v] : p.values) {
            // Always quoted: a value such as "true" or "30" stays text.
            e << YAML::Key << k << YAML::Value << YAML::DoubleQuoted << v;
        }
        e << YAML::EndMap;
        e << YAML::EndMap;
    }
    e << YAML::EndSeq;
    e << YAML::EndMap;
}

result<void> make_dirs(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        return error_info(ec, fmt::format("cannot create {}: {}", dir.string(), ec.message()));
    }
    return ok();
}

}  // namespace

profile* profile_file::find(std::string_view name) {
    for (auto& p : profiles) {
        if (p.name == name) {
            return &p;
        }
    }
    return nullptr;
}

const profile* profile_file::find(std::string_view name) const {
    return const_cast<profile_file*>(this)->find(name);
}

std::string profile_file::names() const {
    std::string out;
    for (const auto& p : profiles) {
        out += (out.empty() ? "" : ", ") + p.name;
    }
    return out.empty() ? "(none)" : out;
}

result<std::string> profile_file_path(std::string_view config_flag, const env_map& env) {
    if (!config_flag.empty()) {
        return std::string(config_flag);
    }
    const auto get = [&](const char* name) {
        auto it = env.find(name);
        return it == env.end() ? std::string() : it->second;
    };
    if (auto v = get("FJORD_CONFIG"); !v.empty()) {
        return v;
    }
    // XDG base directories: a relative XDG_CONFIG_HOME is invalid and ignored.
    if (auto v = get("XDG_CONFIG_HOME"); !v.empty() && v.front() == '/') {
        return v + "/fjord/fjord.yaml";
    }
    if (auto v = get("HOME"); !v.empty()) {
        return v + "/.config/fjord/fjord.yaml";
    }
    return invalid(
        "cannot locate the profile file: none of --config, FJORD_CONFIG, "
        "XDG_CONFIG_HOME or HOME is set");
}

result<void> validate_profile_name(std::string_view name) {
    const auto ok_char = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
    };
    if (name.empty() || name.size() > 64 || !std::all_of(name.begin(), name.end(), ok_char) ||
        name.front() == '.' || name.front() == '_' || name.front() == '-') {
        return invalid(fmt::format(
            "\"{}\" is not a profile name (1 to 64 letters, digits, '.', '_', '-'; starting with "
            "a letter or digit)",
            name));
    }
    return ok();
}

result<void> set_profile_value(profile& p, std::string_view key, std::string_view value,
                               std::string_view from) {
    const setting_key* k = find_setting_key(key);
    if (k == nullptr) {
        return invalid(fmt::format("{}: {}", from, unknown_key_message(key)));
    }
    if (value.empty()) {
        p.values.erase(k->name);
        return ok();
    }
    if (auto r = validate_setting_value(k->name, value); !r) {
        return invalid(fmt::format("{} {}: {}", from, k->name, r.error().detail));
    }
    p.values[k->name] = std::string(value);
    return ok();
}

result<profile_file> load_profile_file(const std::string& path) {
    profile_file out;
    out.path = path;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) {
            return out;
        }
        return os_error(errno, path);
    }
    if (!S_ISREG(st.st_mode)) {
        return invalid(fmt::format("{}: not a regular file", path));
    }
    if (static_cast<size_t>(st.st_size) > max_file_bytes) {
        return invalid(fmt::format("{}: {} bytes; a profile file is at most 1 MiB", path,
                                   static_cast<long long>(st.st_size)));
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return os_error(errno, path);
    }
    std::stringstream buf;
    buf << in.rdbuf();
    out.exists = true;
    problems errs(path);
    try {
        const YAML::Node root = YAML::Load(buf.str());
        if (root.IsNull()) {
            return out;
        }
        if (!root.IsMap()) {
            errs.add(root, "(top level)",
                     fmt::format("expected a map (version, current_profile, profiles), found {}",
                                 type_name(root)));
            return invalid(errs.text());
        }
        std::set<std::string> seen;
        YAML::Node current_node;
        for (const auto& kv : root) {
            const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
            if (!seen.insert(key).second) {
                errs.add(kv.first, key, "duplicate key");
                continue;
            }
            if (key == "version") {
                if (!kv.second.IsScalar() || kv.second.Scalar() != "1") {
                    errs.add(kv.second, key,
                             "unsupported version (this fjord reads version 1; was the file "
                             "written by a newer fjord?)");
                }
            } else if (key == "current_profile") {
                if (kv.second.IsScalar()) {
                    out.current = kv.second.Scalar();
                    current_node = kv.second;
                } else if (!kv.second.IsNull()) {
                    errs.add(
                        kv.second, key,
                        fmt::format("expected a profile name, found {}", type_name(kv.second)));
                }
            } else if (key == "profiles") {
                if (kv.second.IsNull()) {
                    continue;
                }
                if (!kv.second.IsSequence()) {
                    errs.add(
                        kv.second, key,
                        fmt::format("expected a list of profiles, found {}", type_name(kv.second)));
                    continue;
                }
                std::set<std::string> names;
                size_t i = 0;
                for (const auto& p : kv.second) {
                    load_profile(p, i++, errs, out, names);
                }
            } else {
                errs.add(kv.first, key,
                         "unknown key (expected version, current_profile, profiles)");
            }
        }
        if (!out.current.empty() && errs.empty() && out.find(out.current) == nullptr) {
            errs.add(current_node, "current_profile",
                     fmt::format("names no profile (profiles: {})", out.names()));
        }
    } catch (const YAML::Exception& e) {
        return invalid(fmt::format("{}: not valid YAML: {} (line {})", path, e.msg,
                                   e.mark.line >= 0 ? e.mark.line + 1 : 0));
    }
    if (!errs.empty()) {
        return invalid(errs.text());
    }
    return out;
}

result<void> save_profile_file(const profile_file& f) {
    const std::filesystem::path path(f.path);
    const std::filesystem::path dir =
        path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    if (auto r = make_dirs(dir); !r) {
        return r;
    }
    std::string text;
    try {
        YAML::Emitter e;
        emit(e, f);
        if (!e.good()) {
            return invalid(fmt::format("{}: cannot render: {}", f.path, e.GetLastError()));
        }
        text =
            "# fjord profiles: see `fjord profile --help`; the settings keys are the -X keys\n"
            "# (`fjord -X help`). Rewritten by fjord; comments are not kept.\n" +
            std::string(e.c_str()) + "\n";
    } catch (const YAML::Exception& e) {
        return invalid(fmt::format("{}: cannot render: {}", f.path, e.msg));
    }
    const std::string tmp = fmt::format("{}.tmp.{}", f.path, ::getpid());
    {
        fd_guard fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        if (fd.get() < 0) {
            return os_error(errno, fmt::format("cannot write {}", tmp));
        }
        size_t done = 0;
        while (done < text.size()) {
            const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                const int err = errno;
                ::unlink(tmp.c_str());
                return os_error(err, fmt::format("cannot write {}", tmp));
            }
            done += static_cast<size_t>(n);
        }
        if (::fsync(fd.get()) != 0) {
            const int err = errno;
            ::unlink(tmp.c_str());
            return os_error(err, fmt::format("cannot sync {}", tmp));
        }
    }
    if (::rename(tmp.c_str(), f.path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return os_error(err, fmt::format("cannot replace {}", f.path));
    }
    // The rename is durable once the directory is synced.
    fd_guard d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (d.get() >= 0) {
        ::fsync(d.get());
    }
    return ok();
}

result<profile_file> update_profile_file(const std::string& path,
                                         const std::function<result<void>(profile_file&)>& change) {
    const std::filesystem::path p(path);
    const std::filesystem::path dir =
        p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
    if (auto r = make_dirs(dir); !r) {
        return r.error();
    }
    fd_guard lock(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (lock.get() < 0) {
        return os_error(errno, fmt::format("cannot open {}", dir.string()));
    }
    while (::flock(lock.get(), LOCK_EX) != 0) {
        if (errno != EINTR) {
            return os_error(errno, fmt::format("cannot lock {}", dir.string()));
        }
    }
    auto f = load_profile_file(path);
    if (!f) {
        return f.error();
    }
    if (auto r = change(*f); !r) {
        return r.error();
    }
    if (auto r = save_profile_file(*f); !r) {
        return r.error();
    }
    f->exists = true;
    return f;
}

}  // namespace fjord::cli
