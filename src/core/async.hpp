// Runs blocking work (SQL, argon2, libcurl easy calls) on a separate thread
// pool and resumes the awaiting coroutine on its own executor, so that I/O
// threads never block. Include only where coroutines are used.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <optional>
#include <type_traits>

namespace rh {

class BlockingPool {
 public:
  explicit BlockingPool(std::size_t threads) : pool_(threads) {}
  ~BlockingPool() { stop(); }
  void stop() {
    pool_.stop();
    pool_.join();
  }
  boost::asio::thread_pool::executor_type executor() { return pool_.get_executor(); }

 private:
  boost::asio::thread_pool pool_;
};

// co_await offload(pool, [&]{ return blocking_call(); });
template <class F>
boost::asio::awaitable<std::invoke_result_t<F&>> offload(BlockingPool& pool, F f) {
  using R = std::invoke_result_t<F&>;
  auto home = co_await boost::asio::this_coro::executor;
  co_await boost::asio::post(pool.executor(), boost::asio::use_awaitable);
  std::exception_ptr err;
  if constexpr (std::is_void_v<R>) {
    try {
      f();
    } catch (...) {
      err = std::current_exception();
    }
    co_await boost::asio::post(home, boost::asio::use_awaitable);
    if (err) std::rethrow_exception(err);
  } else {
    std::optional<R> out;
    try {
      out.emplace(f());
    } catch (...) {
      err = std::current_exception();
    }
    co_await boost::asio::post(home, boost::asio::use_awaitable);
    if (err) std::rethrow_exception(err);
    co_return std::move(*out);
  }
}

}  // namespace rh
