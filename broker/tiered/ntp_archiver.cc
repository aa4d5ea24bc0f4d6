// File: broker/tiered/ntp_archiver.cc
//
// The archiver of one partition (ntp_archiver.h).

#include "broker/tiered/ntp_archiver.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "broker/tiered/segment_object.h"
#include "common/log.h"
#include "common/objstore/errc.h"
#include "common/tiered/layout.h"

namespace fjord::broker::archival {
namespace {

constexpr const char* component = "archiver";

}  // namespace

/// One upload: which bytes, and the manifest the segment is added to.
struct upload_plan {
    segment_source src;
    tiered::partition_manifest manifest;
};

ntp_archiver::ntp_archiver(std::string name, std::string location, int32_t partition,
                           archiver_stats& stats, archiver_options options)
    : _name(std::move(name)),
      _location(std::move(location)),
      _partition(partition),
      _stats(stats),
      _options(options) {}

tiered::partition_manifest ntp_archiver::next_manifest() const {
    tiered::partition_manifest m = *_manifest;
    m.location = _location;
    m.partition = _partition;
    m.sequence = _manifest->sequence + 1;
    m.owner_cluster = _owner;
    return m;
}

std::optional<job> ntp_archiver::next(storage::partition_log& log, const archiver_context& ctx,
                                      int64_t now_ms) {
    _owner = ctx.cluster_uuid;
    // Nothing goes locally before the manifest says what is uploaded; and
    // nothing at all while the remote log is ahead of the local one (a lost
    // data directory: the offsets the manifest names are not the records
    // this log holds, so they prove nothing about them).
    const int64_t uploaded = _loaded && _manifest ? _manifest->next_offset() : 0;
    log.set_retention_limit(
        kafka_offset{uploaded <= log.log_end_offset().value() ? uploaded : int64_t{0}});
    if (_in_flight || now_ms < _retry_at) {
        return std::nullopt;
    }
    if (!_loaded) {
        _in_flight = true;
        return load_job();
    }
    if (!ctx.may_write) {
        return std::nullopt;  // a mount in progress: the bucket is not ours yet
    }
    if (!_manifest) {
        tiered::partition_manifest m;
        m.location = _location;
        m.partition = _partition;
        m.start_offset = log.log_start_offset().value();
        m.sequence = 1;
        m.owner_cluster = _owner;
        _in_flight = true;
        return put_manifest_job(std::move(m), "the first manifest");
    }
    const tiered::partition_manifest& m = *_manifest;
    const int64_t end = log.log_end_offset().value();
    if (m.next_offset() > end) {
        if (!_ahead_logged) {
            _ahead_logged = true;
            fjord::log(log_level::error, component,
                       "{}: the remote log ends at offset {}, beyond the local log end {}: not "
                       "uploading (the remote data is never overwritten)",
                       _name, m.next_offset(), end);
        }
        return std::nullopt;
    }
    _ahead_logged = false;
    if (!_garbage.empty()) {
        _in_flight = true;
        return delete_job(_garbage);
    }
    // A marker is this cluster's migration's only if this cluster wrote it:
    // migration ids are per cluster, so another cluster's unmount (the one
    // this topic was mounted from) may carry the same id.
    const bool ours = m.final && m.owner_cluster == ctx.cluster_uuid && ctx.final_migration &&
                      *ctx.final_migration == m.final->migration_id;
    if (m.final && !ours) {
        // Cancelled, or the marker of the unmount this topic was mounted
        // from: the partition is writable again.
        auto n = next_manifest();
        n.final.reset();
        _in_flight = true;
        return put_manifest_job(std::move(n), "the manifest without its final marker");
    }
    const bool final_owed = ctx.final_migration.has_value() && !m.final;
    if (auto since = log.active_since_ms();
        since && (final_owed || now_ms - *since >= ctx.settings.upload_interval_ms)) {
        if (auto r = log.roll(now_ms); !r) {
            if (!_roll_error_logged) {
                _roll_error_logged = true;
                fjord::log(log_level::error, component, "{}: cannot roll for upload: {}", _name,
                           r.error().message());
            }
        } else {
            _roll_error_logged = false;
        }
    }
    const auto segs = log.segments();
    const int64_t next = m.next_offset();
    const int64_t hw = log.high_watermark().value();
    bool pending = false;
    for (size_t i = 0; i + 1 < segs.size(); ++i) {
        const auto& s = segs[i];
        if (s.next.value() <= next) {
            continue;
        }
        if (s.next.value() > hw) {
            pending = true;  // not committed yet: next time
            break;
        }
        upload_plan plan;
        plan.src.file = log.segment_file(s.base);
        plan.src.base = s.base.value();
        plan.src.next = s.next.value();
        plan.src.size = s.size_bytes;
        plan.src.from = next;
        plan.src.fallback_epoch = ctx.leader_epoch;
        plan.manifest = next_manifest();
        _in_flight = true;
        return upload_job(std::move(plan));
    }
    if (final_owed) {
        if (pending || hw != end || log.active_since_ms()) {
            return std::nullopt;  // the last bytes are not committed (or rolled) yet
        }
        auto n = next_manifest();
        if (n.segments.empty()) {
            n.start_offset = std::max(n.start_offset, end);
        }
        n.final = tiered::final_marker{*ctx.final_migration, n.next_offset()};
        _in_flight = true;
        return put_manifest_job(std::move(n), "the final manifest");
    }
    if (!m.final) {
        if (auto r = retention(log, ctx, now_ms)) {
            _in_flight = true;
            return put_manifest_job(std::move(r->first), "the manifest after retention",
                                    std::move(r->second));
        }
    }
    return std::nullopt;
}

std::optional<std::pair<tiered::partition_manifest, std::vector<std::string>>>
ntp_archiver::retention(const storage::partition_log& log, const archiver_context& ctx,
                        int64_t now_ms) const {
    const tiered::partition_manifest& m = *_manifest;
    const tiered_settings& st = ctx.settings;
    const int64_t deleted_before = log.records_deleted_before().value();
    // The whole log: what is remote plus what is only local.
    uint64_t total = m.size_bytes();
    for (const auto& s : log.segments()) {
        if (s.next.value() > m.next_offset()) {
            total += s.size_bytes;
        }
    }
    size_t drop = 0;
    while (drop < m.segments.size()) {
        const auto& s = m.segments[drop];
        const bool by_records = s.last_offset < deleted_before;
        const bool by_time = st.cleanup_delete && st.retention_ms >= 0 && s.max_timestamp >= 0 &&
                             now_ms - s.max_timestamp > st.retention_ms;
        const bool by_size = st.cleanup_delete && st.retention_bytes >= 0 &&
                             total - s.size >= static_cast<uint64_t>(st.retention_bytes);
        if (!by_records && !by_time && !by_size) {
            break;
        }
        total -= s.size;
        ++drop;
    }
    int64_t start = m.start_offset;
    if (drop > 0) {
        start = std::max(start, m.segments[drop - 1].last_offset + 1);
    }
    start = std::max(start, std::min(deleted_before, m.next_offset()));
    if (start == m.start_offset) {
        return std::nullopt;
    }
    auto n = next_manifest();
    std::vector<std::string> keys;
    for (size_t i = 0; i < drop; ++i) {
        keys.push_back(tiered::segment_key(_location, _partition, m.segments[i].name));
    }
    n.segments.erase(n.segments.begin(), n.segments.begin() + static_cast<ptrdiff_t>(drop));
    n.start_offset = start;
    return std::make_pair(std::move(n), std::move(keys));
}

job ntp_archiver::load_job() {
    return [location = _location, partition = _partition](objstore::object_store& store) {
        const std::string key = tiered::partition_manifest_key(location, partition);
        auto got = store.get(key);
        if (!got) {
            if (got.error().code == make_error_code(objstore::errc::not_found)) {
                return completion([](ntp_archiver& a, int64_t) {
                    a._in_flight = false;
                    a._loaded = true;
                    a._manifest.reset();
                    a.succeeded();
                });
            }
            return completion([e = got.error()](ntp_archiver& a, int64_t now) {
                a._in_flight = false;
                a.failed(e, "reading the manifest", now);
            });
        }
        auto m = tiered::decode_partition_manifest(*got, key);
        if (m && (m->location != location || m->partition != partition)) {
            m = error_info(
                objstore::errc::corrupt,
                fmt::format("{}: names location {} partition {}", key, m->location, m->partition));
        }
        if (!m) {
            return completion([e = m.error()](ntp_archiver& a, int64_t now) {
                a._in_flight = false;
                a.failed(e, "reading the manifest (never overwritten while it does not decode)",
                         now);
            });
        }
        // Objects below the start: a retention pass whose deletions a crash
        // (or the store) interrupted. Best effort: the next load retries.
        uint64_t deleted = 0;
        const std::string prefix = tiered::partition_prefix(location, partition);
        if (auto listed = store.list(prefix)) {
            for (const auto& o : *listed) {
                auto parts = parse_segment_name(std::string_view(o.key).substr(prefix.size()));
                if (parts && parts->last < m->start_offset && store.del(o.key)) {
                    ++deleted;
                }
            }
        }
        return completion([m = std::move(*m), deleted](ntp_archiver& a, int64_t) {
            a._in_flight = false;
            a._loaded = true;
            a._manifest = m;
            a._stats.objects_deleted += deleted;
            a.succeeded();
        });
    };
}

job ntp_archiver::put_manifest_job(tiered::partition_manifest m, std::string why,
                                   std::vector<std::string> then_delete) {
    return [m = std::move(m), why = std::move(why),
            then_delete = std::move(then_delete)](objstore::object_store& store) {
        const std::string key = tiered::partition_manifest_key(m.location, m.partition);
        if (auto r = store.put(key, tiered::encode(m)); !r) {
            return completion([e = r.error(), why](ntp_archiver& a, int64_t now) {
                a._in_flight = false;
                a.failed(e, fmt::format("writing {}", why).c_str(), now);
            });
        }
        // Only now that no manifest names them.
        std::vector<std::string> left;
        for (const auto& k : then_delete) {
            if (!store.del(k)) {
                left.push_back(k);
            }
        }
        return completion(
            [m, left = std::move(left), deleted = then_delete.size()](ntp_archiver& a, int64_t) {
                a._in_flight = false;
                a._manifest = m;
                a._stats.manifest_writes++;
                a._stats.objects_deleted += deleted - left.size();
                a._garbage = left;
                a.succeeded();
            });
    };
}

job ntp_archiver::upload_job(upload_plan plan) {
    return [plan = std::move(plan)](objstore::object_store& store) {
        auto fail = [](error_info e, std::string what) {
            return completion(
                [e = std::move(e), what = std::move(what)](ntp_archiver& a, int64_t now) {
                    a._in_flight = false;
                    a.failed(e, what.c_str(), now);
                });
        };
        auto obj = read_segment_object(plan.src);
        if (!obj) {
            return fail(obj.error(), fmt::format("reading segment {}", plan.src.base));
        }
        tiered::partition_manifest m = plan.manifest;
        if (!m.segments.empty() && obj->meta.base_offset <= m.segments.back().last_offset) {
            return fail(error_info(objstore::errc::corrupt,
                                   fmt::format("segment {} would overlap the remote log, which "
                                               "ends at {}",
                                               obj->meta.name, m.segments.back().last_offset)),
                        "uploading");
        }
        const std::string key = tiered::segment_key(m.location, m.partition, obj->meta.name);
        if (auto r = store.put(key, obj->bytes); !r) {
            return fail(r.error(), fmt::format("uploading {}", obj->meta.name));
        }
        m.segments.push_back(obj->meta);
        // The object exists: now the manifest may name it.
        if (auto r = store.put(tiered::partition_manifest_key(m.location, m.partition),
                               tiered::encode(m));
            !r) {
            return fail(r.error(), fmt::format("writing the manifest after {}", obj->meta.name));
        }
        return completion([m = std::move(m), size = obj->meta.size](ntp_archiver& a, int64_t) {
            a._in_flight = false;
            a._manifest = m;
            a._stats.segments_uploaded++;
            a._stats.bytes_uploaded += size;
            a._stats.manifest_writes++;
            a.succeeded();
        });
    };
}

job ntp_archiver::delete_job(std::vector<std::string> keys) {
    return [keys = std::move(keys)](objstore::object_store& store) {
        std::vector<std::string> left;
        std::optional<error_info> err;
        for (const auto& k : keys) {
            if (auto r = store.del(k); !r) {
                left.push_back(k);
                err = r.error();
            }
        }
        return completion(
            [left = std::move(left), err, n = keys.size()](ntp_archiver& a, int64_t now) {
                a._in_flight = false;
                a._stats.objects_deleted += n - left.size();
                a._garbage = left;
                if (err) {
                    a.failed(*err, "deleting objects below the remote start", now);
                } else {
                    a.succeeded();
                }
            });
    };
}

void ntp_archiver::succeeded() {
    if (_failures > 0) {
        fjord::log(log_level::info, component, "{}: uploads work again (after {} failures)", _name,
                   _failures);
    }
    _failures = 0;
    _retry_at = 0;
}

void ntp_archiver::failed(const error_info& e, const char* what, int64_t now_ms) {
    _stats.failures++;
    if (_failures == 0) {
        fjord::log(log_level::warn, component, "{}: {} failed: {}; retrying with backoff", _name,
                   what, e.message());
    } else {
        fjord::log(log_level::debug, component, "{}: {} failed again: {}", _name, what,
                   e.message());
    }
    ++_failures;
    const int shift = std::min(_failures - 1, 20);
    const int64_t backoff =
        std::min(_options.max_backoff_ms, _options.initial_backoff_ms * (int64_t{1} << shift));
    _retry_at = now_ms + std::max<int64_t>(0, backoff);
}

upload_lag ntp_archiver::lag(const storage::partition_log& log) const {
    const int64_t next = _manifest ? _manifest->next_offset() : log.log_start_offset().value();
    upload_lag out;
    for (const auto& s : log.segments()) {
        if (s.next.value() > next) {
            out.bytes += s.size_bytes;
        }
    }
    out.offsets = std::max<int64_t>(0, log.log_end_offset().value() - next);
    return out;
}

}  // namespace fjord::broker::archival
