// File: common/metrics.cc
//
// The registry's bookkeeping and the text exposition format 0.0.4:
//   # HELP <name> <help, with \ and newline escaped>   (omitted when help is empty)
//   # TYPE <name> counter|gauge|histogram
//   <name>{<label>="<value, with \ " and newline escaped>",...} <value>
// Histograms expand to <name>_bucket{...,le="<bound>"} (cumulative, ending
// with le="+Inf"), <name>_sum and <name>_count. Floats use the shortest text
// that reads back to the same double, "+Inf", "-Inf" and "NaN".

#include "common/metrics.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "common/assert.h"

namespace fjord::metrics {
namespace {

bool valid_metric_name(std::string_view n) {
    if (n.empty()) {
        return false;
    }
    for (size_t i = 0; i < n.size(); ++i) {
        const char c = n[i];
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        const bool digit = c >= '0' && c <= '9';
        if (!alpha && !(digit && i > 0)) {
            return false;
        }
    }
    return true;
}

bool valid_label_name(std::string_view n) {
    if (n.empty() || n.starts_with("__")) {
        return false;
    }
    for (size_t i = 0; i < n.size(); ++i) {
        const char c = n[i];
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        const bool digit = c >= '0' && c <= '9';
        if (!alpha && !(digit && i > 0)) {
            return false;
        }
    }
    return true;
}

std::shared_ptr<const std::vector<double>> checked_buckets(std::string_view name,
                                                           std::vector<double> b) {
    if (!b.empty() && std::isinf(b.back()) && b.back() > 0) {
        b.pop_back();
    }
    FJORD_ASSERT(!b.empty(), "histogram {}: needs at least one finite bucket bound", name);
    for (size_t i = 0; i < b.size(); ++i) {
        FJORD_ASSERT(std::isfinite(b[i]), "histogram {}: bucket bound {} is not finite", name,
                     b[i]);
        FJORD_ASSERT(i == 0 || b[i - 1] < b[i],
                     "histogram {}: bucket bounds must be strictly increasing ({} then {})", name,
                     b[i == 0 ? 0 : i - 1], b[i]);
    }
    return std::make_shared<const std::vector<double>>(std::move(b));
}

std::string format_double(double v) {
    if (std::isnan(v)) {
        return "NaN";
    }
    if (std::isinf(v)) {
        return v > 0 ? "+Inf" : "-Inf";
    }
    return fmt::format("{}", v);
}

void append_escaped_help(std::string& out, std::string_view s) {
    for (const char c : s) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
}

void append_escaped_label_value(std::string& out, std::string_view s) {
    for (const char c : s) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
}

// `{a="x",b="y"}`, plus `extra` (already formatted, e.g. `le="0.5"`) last;
// nothing at all when there are no labels.
std::string label_text(const std::vector<std::string>& names,
                       const std::vector<std::string>& values, std::string_view extra = {}) {
    if (names.empty() && extra.empty()) {
        return {};
    }
    std::string out = "{";
    for (size_t i = 0; i < names.size(); ++i) {
        if (i > 0) {
            out += ',';
        }
        out += names[i];
        out += "=\"";
        append_escaped_label_value(out, values[i]);
        out += '"';
    }
    if (!extra.empty()) {
        if (!names.empty()) {
            out += ',';
        }
        out += extra;
    }
    out += '}';
    return out;
}

constexpr std::string_view type_name(const counter*) {
    return "counter";
}
constexpr std::string_view type_name(const gauge*) {
    return "gauge";
}
constexpr std::string_view type_name(const histogram*) {
    return "histogram";
}

void render_series(std::string& out, const std::string& name, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, const counter& c) {
    out += fmt::format("{}{} {}\n", name, label_text(names, values), c.value());
}

void render_series(std::string& out, const std::string& name, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, const gauge& g) {
    out += fmt::format("{}{} {}\n", name, label_text(names, values), format_double(g.value()));
}

void render_series(std::string& out, const std::string& name, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, const histogram& h) {
    const histogram::snapshot s = h.collect();
    const std::vector<double>& bounds = h.bounds();
    for (size_t i = 0; i <= bounds.size(); ++i) {
        const std::string le =
            fmt::format("le=\"{}\"", i < bounds.size() ? format_double(bounds[i]) : "+Inf");
        out +=
            fmt::format("{}_bucket{} {}\n", name, label_text(names, values, le), s.cumulative[i]);
    }
    const std::string labels = label_text(names, values);
    out += fmt::format("{}_sum{} {}\n", name, labels, format_double(s.sum));
    out += fmt::format("{}_count{} {}\n", name, labels, s.count());
}

}  // namespace

// --- histogram ---

histogram::histogram(std::shared_ptr<const std::vector<double>> bounds)
    : _bounds(std::move(bounds)),
      _counts(std::make_unique<std::atomic<uint64_t>[]>(_bounds->size() + 1)) {}

void histogram::observe(double v) {
    const std::vector<double>& b = *_bounds;
    // First bound >= v: bucket bounds are inclusive upper limits ("le").
    // NaN compares false with everything and would land in bucket 0, so it is
    // sent to +Inf explicitly.
    size_t i = b.size();
    if (!std::isnan(v)) {
        i = static_cast<size_t>(std::lower_bound(b.begin(), b.end(), v) - b.begin());
    }
    _counts[i].fetch_add(1, std::memory_order_relaxed);
    _sum.fetch_add(v, std::memory_order_relaxed);
}

histogram::snapshot histogram::collect() const {
    snapshot s;
    s.cumulative.resize(_bounds->size() + 1);
    uint64_t total = 0;
    for (size_t i = 0; i < s.cumulative.size(); ++i) {
        total += _counts[i].load(std::memory_order_relaxed);
        s.cumulative[i] = total;
    }
    s.sum = _sum.load(std::memory_order_relaxed);
    return s;
}

std::vector<double> default_latency_buckets() {
    return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> exponential_buckets(double start, double factor, int count) {
    FJORD_ASSERT(start > 0 && factor > 1 && count >= 1,
                 "exponential_buckets({}, {}, {}): need start > 0, factor > 1, count >= 1", start,
                 factor, count);
    std::vector<double> out;
    out.reserve(static_cast<size_t>(count));
    double b = start;
    for (int i = 0; i < count; ++i) {
        out.push_back(b);
        b *= factor;
    }
    return out;
}

// --- family ---

template <typename M>
family<M>::family(std::string name, std::string help, std::vector<std::string> label_names,
                  std::shared_ptr<const std::vector<double>> bounds)
    : _name(std::move(name)),
      _help(std::move(help)),
      _label_names(std::move(label_names)),
      _bounds(std::move(bounds)) {}

template <typename M>
M& family<M>::with(const std::vector<std::string>& label_values) {
    FJORD_ASSERT(label_values.size() == _label_names.size(),
                 "metric {}: {} label values given for {} label names", _name, label_values.size(),
                 _label_names.size());
    std::lock_guard g(_mu);
    auto it = _series.find(label_values);
    if (it == _series.end()) {
        std::unique_ptr<M> m;
        if constexpr (std::is_same_v<M, histogram>) {
            m = std::make_unique<histogram>(_bounds);
        } else {
            m = std::make_unique<M>();
        }
        it = _series.emplace(label_values, std::move(m)).first;
    }
    return *it->second;
}

template class family<counter>;
template class family<gauge>;
template class family<histogram>;

// --- registry ---

template <typename M>
family<M>& registry::add_family(std::string_view name, std::string_view help,
                                std::vector<std::string> label_names,
                                std::shared_ptr<const std::vector<double>> bounds) {
    FJORD_ASSERT(valid_metric_name(name), "metric name \"{}\" is not [a-zA-Z_:][a-zA-Z0-9_:]*",
                 name);
    for (size_t i = 0; i < label_names.size(); ++i) {
        const std::string& l = label_names[i];
        FJORD_ASSERT(valid_label_name(l),
                     "metric {}: label name \"{}\" is not [a-zA-Z_][a-zA-Z0-9_]* or starts with __",
                     name, l);
        FJORD_ASSERT(!(std::is_same_v<M, histogram> && l == "le"),
                     "metric {}: label name \"le\" is reserved for histogram buckets", name);
        for (size_t j = 0; j < i; ++j) {
            FJORD_ASSERT(label_names[j] != l, "metric {}: label name \"{}\" appears twice", name,
                         l);
        }
    }
    std::unique_ptr<family<M>> f(new family<M>(std::string(name), std::string(help),
                                               std::move(label_names), std::move(bounds)));
    family<M>& ref = *f;
    std::lock_guard g(_mu);
    const bool inserted = _families.try_emplace(std::string(name), std::move(f)).second;
    FJORD_ASSERT(inserted, "metric {} is registered twice", name);
    return ref;
}

counter& registry::add_counter(std::string_view name, std::string_view help) {
    return add_counter_family(name, help, {}).with({});
}

gauge& registry::add_gauge(std::string_view name, std::string_view help) {
    return add_gauge_family(name, help, {}).with({});
}

histogram& registry::add_histogram(std::string_view name, std::string_view help,
                                   std::vector<double> buckets) {
    return add_histogram_family(name, help, {}, std::move(buckets)).with({});
}

family<counter>& registry::add_counter_family(std::string_view name, std::string_view help,
                                              std::vector<std::string> label_names) {
    return add_family<counter>(name, help, std::move(label_names), nullptr);
}

family<gauge>& registry::add_gauge_family(std::string_view name, std::string_view help,
                                          std::vector<std::string> label_names) {
    return add_family<gauge>(name, help, std::move(label_names), nullptr);
}

family<histogram>& registry::add_histogram_family(std::string_view name, std::string_view help,
                                                  std::vector<std::string> label_names,
                                                  std::vector<double> buckets) {
    return add_family<histogram>(name, help, std::move(label_names),
                                 checked_buckets(name, std::move(buckets)));
}

std::string registry::render() const {
    std::string out;
    std::lock_guard g(_mu);
    for (const auto& [name, any] : _families) {
        std::visit(
            [&out](const auto& fp) {
                const auto& f = *fp;
                std::lock_guard fg(f._mu);
                if (f._series.empty()) {
                    return;
                }
                using series_type = typename std::decay_t<decltype(f._series)>::mapped_type;
                if (!f._help.empty()) {
                    out += "# HELP ";
                    out += f._name;
                    out += ' ';
                    append_escaped_help(out, f._help);
                    out += '\n';
                }
                out += fmt::format(
                    "# TYPE {} {}\n", f._name,
                    type_name(static_cast<const typename series_type::element_type*>(nullptr)));
                for (const auto& [values, m] : f._series) {
                    render_series(out, f._name, f._label_names, values, *m);
                }
            },
            any);
    }
    return out;
}

}  // namespace fjord::metrics
