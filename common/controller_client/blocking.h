#pragma once
// File: common/controller_client/blocking.h
//
// For a synchronous caller (the CLI): runs one call of client.h and waits
// for its `done`. The wait holds nothing `done` touches but a shared
// promise, so nothing of the call outlives it.

#include <chrono>
#include <future>
#include <memory>
#include <type_traits>

#include "common/controller_client/client.h"

namespace fjord::controller_client {

template <typename Arg, typename Resp>
using method = void (client::*)(Arg, std::chrono::milliseconds, client::done_fn<Resp>);

/// `wait_for(c, &client::list_topics, req, timeout)`: the call's answer.
template <typename Arg, typename Resp>
result<Resp> wait_for(client& c, method<Arg, Resp> m, std::type_identity_t<Arg> arg,
                      std::chrono::milliseconds timeout) {
    auto answer = std::make_shared<std::promise<result<Resp>>>();
    auto future = answer->get_future();
    (c.*m)(std::move(arg), timeout, [answer](result<Resp> r) { answer->set_value(std::move(r)); });
    return future.get();
}

}  // namespace fjord::controller_client
