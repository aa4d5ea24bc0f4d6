#pragma once
// File: common/tls/watcher.h
//
// Certificate reload without a restart. A credential_watcher owns one
// endpoint's TLS files: it loads and checks them at start (a daemon refuses
// to start on bad files), then re-reads them every `poll` interval and on
// reload() (a daemon calls reload_all() on SIGHUP). New material that passes
// load_credentials() replaces the current set: listeners build their next
// connection's context from current(), subscribers are called, and the live
// copies for gRPC are rewritten. New material that fails is refused with a
// warning naming the file and the reason, and the old set keeps serving.
//
// gRPC reads its credentials from files itself (FileWatcherCertificateProvider,
// see grpc_tls.h), so the watcher keeps *live copies* of the checked set in a
// private directory: `identity.pem` (key and chain in one file, so one
// rename swaps both and gRPC never pairs a new key with an old certificate)
// and `ca.pem`. Only checked material is ever written there. Files are 0600.
//
// Threading: current() and generation() from any thread; subscribers run on
// the watcher's thread (or reload()'s caller) and must not block.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/tls/tls.h"

namespace fjord::tls {

class credential_watcher : public std::enable_shared_from_this<credential_watcher> {
  public:
    /// Loads `s`'s files (an error if they fail the checks), writes the live
    /// copies under `live_dir` (created 0700), and starts polling. `name`
    /// labels log lines ("kafka listener", "controller API").
    static result<std::shared_ptr<credential_watcher>> start(
        tls_settings s, std::string name, std::string live_dir,
        std::chrono::milliseconds poll = std::chrono::milliseconds(1000));

    ~credential_watcher();
    credential_watcher(const credential_watcher&) = delete;
    credential_watcher& operator=(const credential_watcher&) = delete;

    const tls_settings& settings() const { return _settings; }
    std::shared_ptr<const credential_set> current() const;
    /// Increments each time a new set is taken (starts at 1).
    uint64_t generation() const { return _generation.load(); }

    /// Checks the files now: true if a new set was taken, false if unchanged,
    /// an error (and the old set kept) if the new files fail the checks.
    result<bool> reload();

    /// Called with each new set after it is taken.
    void subscribe(std::function<void(const credential_set&)> fn);

    /// The live copies for gRPC ("" for ca when no truststore is set).
    std::string live_identity_path() const { return _live_dir + "/identity.pem"; }
    std::string live_ca_path() const;

    /// Calls reload() on every running watcher of this process (SIGHUP).
    static void reload_all();

    /// Stops polling (the destructor does too).
    void stop();

  private:
    credential_watcher(tls_settings s, std::string name, std::string live_dir,
                       std::chrono::milliseconds poll);
    result<void> write_live(const credential_set& c);
    void run();

    const tls_settings _settings;
    const std::string _name;
    const std::string _live_dir;
    const std::chrono::milliseconds _poll;

    mutable std::mutex _mu;
    std::shared_ptr<const credential_set> _current;
    std::vector<std::function<void(const credential_set&)>> _subscribers;
    /// The last refused material, so a bad file is logged once, not per poll.
    std::string _last_refused;
    /// When the live copies were last written: gRPC's file watcher tells
    /// versions apart by modification time in whole seconds, so two writes
    /// are kept more than a second apart (reload() waits out the rest).
    std::chrono::steady_clock::time_point _last_live_write{};
    std::atomic<uint64_t> _generation{0};

    std::mutex _reload_mu;  // one reload at a time (poll thread vs SIGHUP)
    std::condition_variable _cv;
    bool _stopping = false;
    std::thread _thread;
};

}  // namespace fjord::tls
