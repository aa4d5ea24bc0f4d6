#pragma once
// File: common/metrics.h
//
// A thread-safe Prometheus metrics registry: counters, gauges and fixed-bucket
// histograms, each optionally split by a set of labels, rendered in the text
// exposition format 0.0.4 (what GET /metrics serves).
//
// Contract:
// - Registration (`add_*`) happens at start-up with names fixed in code. A
//   malformed name, a duplicate name, bad label names or bad buckets are
//   programming mistakes and stop the process (FJORD_PANIC), like Prometheus'
//   MustRegister. Nothing here returns an error or throws.
// - Every returned reference stays valid, at the same address, for the life of
//   the registry: look a series up once and keep the reference.
// - Hot-path updates (`counter::inc`, `gauge::set/add`, `histogram::observe`)
//   are relaxed atomics: no lock, no allocation. `family::with()` takes the
//   family's mutex (and allocates the first time a label set is seen).
// - `render()` is deterministic: families sorted by name, series by their label
//   values (compared in label-name order), label names in registration order.
//   Families with no series yet are omitted. Values of one series are read
//   without a global lock, so a render concurrent with updates sees each value
//   at some recent instant; a histogram's buckets, _count and +Inf bucket are
//   always consistent with each other (all derive from the same bucket reads).
//
// Example:
//   metrics::registry reg;
//   auto& requests = reg.add_counter_family("fjord_requests_total", "RPCs served.",
//                                           {"method", "code"});
//   metrics::counter& ok_creates = requests.with({"CreateTopics", "OK"});
//   ok_creates.inc();
//   auto& latency = reg.add_histogram("fjord_rpc_seconds", "RPC latency.",
//                                     metrics::default_latency_buckets());
//   latency.observe(0.012);
//   std::string body = reg.render();

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace fjord::metrics {

/// The Content-Type of render()'s output.
inline constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

/// A monotonically increasing count (requests, bytes, errors).
class counter {
  public:
    counter() = default;
    counter(const counter&) = delete;
    counter& operator=(const counter&) = delete;

    void inc(uint64_t n = 1) { _v.fetch_add(n, std::memory_order_relaxed); }
    uint64_t value() const { return _v.load(std::memory_order_relaxed); }

  private:
    std::atomic<uint64_t> _v{0};
};

/// A value that goes up and down (queue depth, current term, leader flag).
class gauge {
  public:
    gauge() = default;
    gauge(const gauge&) = delete;
    gauge& operator=(const gauge&) = delete;

    void set(double v) { _v.store(v, std::memory_order_relaxed); }
    void add(double d) { _v.fetch_add(d, std::memory_order_relaxed); }
    void inc() { add(1); }
    void dec() { add(-1); }
    double value() const { return _v.load(std::memory_order_relaxed); }

  private:
    std::atomic<double> _v{0};
};

/// Observations counted into fixed buckets (latencies in seconds, sizes in
/// bytes). Bucket i counts observations v <= bounds[i] (and > bounds[i-1]);
/// an implicit last bucket (+Inf) takes the rest, including NaN.
class histogram {
  public:
    /// `bounds` must be validated (see registry); shared by a family's series.
    explicit histogram(std::shared_ptr<const std::vector<double>> bounds);
    histogram(const histogram&) = delete;
    histogram& operator=(const histogram&) = delete;

    void observe(double v);

    /// Cumulative counts per bound plus +Inf (bounds().size() + 1 values, the
    /// last being the total count), and the sum of observations.
    struct snapshot {
        std::vector<uint64_t> cumulative;
        double sum = 0;
        uint64_t count() const { return cumulative.back(); }
    };
    snapshot collect() const;
    const std::vector<double>& bounds() const { return *_bounds; }

  private:
    std::shared_ptr<const std::vector<double>> _bounds;
    // Per-bucket (not cumulative) counts; the last is the +Inf bucket.
    std::unique_ptr<std::atomic<uint64_t>[]> _counts;
    std::atomic<double> _sum{0};
};

/// The Prometheus client default buckets, in seconds: .005 .01 .025 .05 .1
/// .25 .5 1 2.5 5 10.
std::vector<double> default_latency_buckets();
/// `count` bounds: start, start*factor, start*factor^2, ... (start > 0,
/// factor > 1, count >= 1; otherwise FJORD_PANIC).
std::vector<double> exponential_buckets(double start, double factor, int count);

class registry;

/// All series of one metric name, one per distinct tuple of label values.
template <typename M>
class family {
  public:
    family(const family&) = delete;
    family& operator=(const family&) = delete;

    /// The series with these label values, one per label name in the order
    /// the names were registered; created at zero on first use. Any string is
    /// a valid value (render escapes it). A wrong number of values is a
    /// programming mistake (FJORD_PANIC).
    M& with(const std::vector<std::string>& label_values);

    const std::string& name() const { return _name; }
    const std::vector<std::string>& label_names() const { return _label_names; }

  private:
    friend class registry;
    family(std::string name, std::string help, std::vector<std::string> label_names,
           std::shared_ptr<const std::vector<double>> bounds);

    const std::string _name;
    const std::string _help;
    const std::vector<std::string> _label_names;
    // Histogram bucket bounds; null for counters and gauges.
    const std::shared_ptr<const std::vector<double>> _bounds;
    mutable std::mutex _mu;
    // Node-based map + unique_ptr: series never move once created.
    std::map<std::vector<std::string>, std::unique_ptr<M>> _series;
};

/// Owns every family; see the file comment for the contract.
class registry {
  public:
    registry() = default;
    registry(const registry&) = delete;
    registry& operator=(const registry&) = delete;

    /// A metric without labels. `name` must match [a-zA-Z_:][a-zA-Z0-9_:]*;
    /// `help` is free text (escaped on render).
    counter& add_counter(std::string_view name, std::string_view help);
    gauge& add_gauge(std::string_view name, std::string_view help);
    /// `buckets`: strictly increasing finite upper bounds, at least one; a
    /// trailing +Inf is allowed and dropped (the +Inf bucket is implicit).
    histogram& add_histogram(std::string_view name, std::string_view help,
                             std::vector<double> buckets);

    /// Families split by labels. Label names must match [a-zA-Z_][a-zA-Z0-9_]*,
    /// must not start with "__", must be distinct, and "le" is reserved for
    /// histogram buckets. An empty list makes a family with one series, `with({})`.
    family<counter>& add_counter_family(std::string_view name, std::string_view help,
                                        std::vector<std::string> label_names);
    family<gauge>& add_gauge_family(std::string_view name, std::string_view help,
                                    std::vector<std::string> label_names);
    family<histogram>& add_histogram_family(std::string_view name, std::string_view help,
                                            std::vector<std::string> label_names,
                                            std::vector<double> buckets);

    /// Every family in the text exposition format 0.0.4 (see content_type).
    std::string render() const;

  private:
    template <typename M>
    family<M>& add_family(std::string_view name, std::string_view help,
                          std::vector<std::string> label_names,
                          std::shared_ptr<const std::vector<double>> bounds);

    using any_family =
        std::variant<std::unique_ptr<family<counter>>, std::unique_ptr<family<gauge>>,
                     std::unique_ptr<family<histogram>>>;
    mutable std::mutex _mu;
    std::map<std::string, any_family, std::less<>> _families;
};

}  // namespace fjord::metrics
