#pragma once
// File: common/rw_mutex.h
//
// A reader-writer mutex that prefers writers. std::shared_mutex on glibc
// prefers readers: with hundreds of request threads reading the controller's
// tables, the one thread that applies committed entries could wait behind an
// endless stream of readers. Here a waiting writer blocks new readers.
// Meets SharedMutex, so std::shared_lock / std::unique_lock /
// std::condition_variable_any work with it.

#include <pthread.h>

namespace fjord {

class rw_mutex {
  public:
    rw_mutex() {
        pthread_rwlockattr_t attr;
        pthread_rwlockattr_init(&attr);
        pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        pthread_rwlock_init(&_l, &attr);
        pthread_rwlockattr_destroy(&attr);
    }
    ~rw_mutex() { pthread_rwlock_destroy(&_l); }
    rw_mutex(const rw_mutex&) = delete;
    rw_mutex& operator=(const rw_mutex&) = delete;

    void lock() { pthread_rwlock_wrlock(&_l); }
    bool try_lock() { return pthread_rwlock_trywrlock(&_l) == 0; }
    void unlock() { pthread_rwlock_unlock(&_l); }
    void lock_shared() { pthread_rwlock_rdlock(&_l); }
    bool try_lock_shared() { return pthread_rwlock_tryrdlock(&_l) == 0; }
    void unlock_shared() { pthread_rwlock_unlock(&_l); }

  private:
    pthread_rwlock_t _l;
};

}  // namespace fjord
