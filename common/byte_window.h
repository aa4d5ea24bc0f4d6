#pragma once
// File: common/byte_window.h
//
// Bytes received and not yet consumed, at the front of one heap buffer,
// free space after them. For receive paths that cut frames or records out
// of a byte stream (broker/server/kafka_listener.cc, common/tls/engine.cc):
// prepare_receive() before each receive, receive into free_space(),
// commit() what arrived, read from data(), consume() what was used.

#include <cstddef>
#include <memory>
#include <span>

namespace fjord {

class byte_window {
  public:
    /// The unconsumed bytes.
    const char* data() const { return _buf.get() + _start; }
    size_t size() const { return _end - _start; }
    bool empty() const { return _start == _end; }
    size_t capacity() const { return _cap; }

    /// Where the next bytes go (after the unconsumed ones).
    std::span<char> free_space() { return {_buf.get() + _end, _cap - _end}; }
    /// `n` bytes arrived in free_space().
    void commit(size_t n) {
        _end += n;
        _filled = _end == _cap;
    }
    void consume(size_t n) {
        _start += n;
        if (_start == _end) {
            _start = _end = 0;
        }
    }

    /// Before a receive: moves the unconsumed bytes to the front, and sizes
    /// the buffer so that a peer sending more than it holds gets larger
    /// receives, and one sending little costs little. The capacity becomes
    /// at least `initial`; twice what it was if the last commit() filled
    /// it (more was probably waiting); doubled until it holds `want` bytes;
    /// never more than `max` (unless it is already larger) and never less
    /// than the unconsumed bytes need. It never shrinks.
    void prepare_receive(size_t initial, size_t max, size_t want = 0);

  private:
    /// Moves the unconsumed bytes to the front, into a new buffer when
    /// `cap` differs from the capacity (never smaller than they need).
    void reshape(size_t cap);

    std::unique_ptr<char[]> _buf;
    size_t _cap = 0;
    size_t _start = 0;
    size_t _end = 0;
    bool _filled = false;  // the last commit() filled the buffer
};

}  // namespace fjord
