// Runs blocking work (SQL, argon2, libcurl easy calls) on a separate thread
// pool and resumes the awaiting coroutine on its own executor, so that I/O
// threads never block. Include only where coroutines are used.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <optional>
#include <type_traits>
#include <variant>

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
//
// f runs on a pool thread; the coroutine is resumed on its own executor (its
// strand) with the result, or the exception f threw. The coroutine itself
// never runs on the pool. (`co_await post(pool, use_awaitable)` does not do
// this: the completion goes to the coroutine's executor, so the work after it
// would run on the I/O thread.)
template <class F>
boost::asio::awaitable<std::invoke_result_t<F&>> offload(BlockingPool& pool, F f) {
  using R = std::invoke_result_t<F&>;
  using Out = std::conditional_t<std::is_void_v<R>, std::monostate, R>;
  auto out = co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                                  void(std::exception_ptr, std::optional<Out>)>(
      [&pool, &f](auto handler) {
        // Keeps the caller's executor (its io_context) from running out of
        // work while f runs.
        auto home = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                        boost::asio::execution::outstanding_work.tracked);
        boost::asio::post(pool.executor(), [&f, home = std::move(home),
                                            handler = std::move(handler)]() mutable {
          std::exception_ptr err;
          std::optional<Out> result;
          try {
            if constexpr (std::is_void_v<R>) {
              f();
              result.emplace();
            } else {
              result.emplace(f());
            }
          } catch (...) {
            err = std::current_exception();
          }
          boost::asio::post(home, [handler = std::move(handler), err,
                                   result = std::move(result)]() mutable {
            std::move(handler)(err, std::move(result));
          });
        });
      },
      boost::asio::use_awaitable);
  if constexpr (std::is_void_v<R>) {
    (void)out;
  } else {
    co_return std::move(*out);
  }
}

}  // namespace rh
