#pragma once
// File: common/tls/engine.h
//
// One TLS session with no socket: the caller moves ciphertext between the
// network and two byte buffers, and the engine turns it into plaintext and
// back. No I/O, no threads, no clock: the listener that owns the socket
// decides when to read and write, and tests drive two engines against each
// other byte by byte.
//
//   socket ──recv──▶ input_space()/input_added() ──▶ read() ──▶ plaintext
//   socket ◀──send── swap_output()               ◀── write() ◀── plaintext
//
// Why not a socket BIO or asio::ssl: those take one TLS record (16 KiB)
// per system call. Here one recv brings in as much ciphertext as the
// kernel holds (up to max_input bytes), read() decrypts every record of it
// into the caller's buffer, and one send takes every record write() made.
//
// Contract:
// - Single-threaded: one owner calls everything.
// - Output: handshake(), read() and write() may all append ciphertext (a
//   handshake message, an alert, a KeyUpdate answer, records); the caller
//   sends whatever swap_output() hands it, in order, before later output.
// - After `failed`, failure() says why as a sentence (tls::describe_failure:
//   the verification result and OpenSSL's error queue, drained); the output
//   may hold an alert worth sending before the socket closes.
// - The SSL_CTX decides the policy (tls::make_server_context and
//   apply_policy): protocol versions, suites, client certificates, FIPS.

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "common/byte_window.h"
#include "common/result.h"

struct ssl_st;
struct ssl_ctx_st;

namespace fjord::tls {

class engine {
  public:
    enum class role { server, client };
    /// What a step left the session in.
    enum class status {
        ok,          ///< done (handshake) or bytes produced (read)
        want_input,  ///< needs more ciphertext from the peer
        closed,      ///< the peer sent close_notify
        failed,      ///< a protocol or verification error: see failure()
    };
    struct read_result {
        size_t n = 0;  ///< plaintext bytes written to the caller's buffer
        status st = status::ok;
    };

    /// A session on `ctx` (which it references, not owns: SSL_new takes a
    /// reference). Fails only when OpenSSL cannot allocate.
    static result<std::unique_ptr<engine>> make(ssl_ctx_st* ctx, role r);
    ~engine();
    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;

    /// Advances the handshake: ok once it is complete.
    status handshake();
    bool handshake_done() const;

    /// Decrypts buffered ciphertext into [dst, dst + cap), as many records
    /// as fit. n > 0 with ok; n == 0 with want_input (nothing complete
    /// yet), closed or failed. Bytes produced before a close or an error
    /// are returned first (ok); the next call reports it.
    read_result read(char* dst, size_t cap);

    /// Encrypts all of [p, p + n) into the output (as records of at most
    /// 16 KiB). False (failed) on an error, which ends the session.
    bool write(const char* p, size_t n);

    /// Where the next ciphertext from the network goes, to be called when
    /// handshake() or read() asked for input (so nothing is left buffered):
    /// 16 KiB at first, doubling while receives fill it, up to max_input.
    /// Then input_added(bytes received).
    std::span<char> input_space();
    void input_added(size_t n);
    /// Ciphertext received and not yet taken by OpenSSL.
    size_t input_buffered() const { return _in.size(); }

    /// Ciphertext waiting to be sent.
    size_t output_size() const { return _out.size(); }
    /// Exchanges the output with `s` (cleared first, so its capacity is
    /// reused): the caller sends `s`, the engine appends to the old `s`.
    void swap_output(std::string& s);

    /// Frees the output buffer if it is empty, and OpenSSL's own buffers
    /// if they hold nothing (for a connection gone quiet; they come back
    /// with the next bytes). The input buffer stays: a receive into it may
    /// be under way.
    void release_output();

    /// Why the session failed, as a sentence: taken from OpenSSL's error
    /// queue (and drained) at the moment it failed, so other sessions on
    /// the thread cannot mix their errors into it.
    std::string failure();
    /// The underlying session, for the peer certificate, version and
    /// cipher (read-only use: reads and writes go through the engine).
    ssl_st* native() const { return _ssl; }

    /// Largest ciphertext buffer one connection keeps.
    static constexpr size_t max_input = 64 * 1024;

  private:
    engine() = default;
    status fail();  // records failure() and makes `failed` sticky
    friend struct engine_bio;

    ssl_st* _ssl = nullptr;
    byte_window _in;               // received ciphertext
    std::string _out;              // ciphertext to send
    status _pending = status::ok;  // sticky: a close or failure (read() reports data first)
    std::string _failure;
};

}  // namespace fjord::tls
