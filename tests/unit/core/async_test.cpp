#include "core/async.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <stdexcept>
#include <string>
#include <thread>

namespace asio = boost::asio;

namespace rh {
namespace {

// The blocking work runs on the pool, never on the I/O thread, and the
// coroutine comes back to its own executor afterwards.
TEST(Offload, RunsOnThePoolAndResumesHome) {
  asio::io_context ioc;
  BlockingPool pool(2);
  std::thread::id io_thread, work_thread, after_thread;
  int result = 0;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        io_thread = std::this_thread::get_id();
        result = co_await offload(pool, [&] {
          work_thread = std::this_thread::get_id();
          return 42;
        });
        after_thread = std::this_thread::get_id();
      },
      asio::detached);
  ioc.run();
  EXPECT_EQ(result, 42);
  EXPECT_NE(work_thread, io_thread);
  EXPECT_NE(work_thread, std::thread::id());
  EXPECT_EQ(after_thread, io_thread);
}

// From a strand (how HTTP sessions run): back on the strand afterwards.
TEST(Offload, FromAStrand) {
  asio::io_context ioc;
  BlockingPool pool(1);
  auto strand = asio::make_strand(ioc);
  std::thread::id io_thread, work_thread;
  bool in_strand_after = false;
  asio::co_spawn(
      strand,
      [&]() -> asio::awaitable<void> {
        io_thread = std::this_thread::get_id();
        co_await offload(pool, [&] { work_thread = std::this_thread::get_id(); });
        in_strand_after = strand.running_in_this_thread();
      },
      asio::detached);
  ioc.run();
  EXPECT_NE(work_thread, io_thread);
  EXPECT_TRUE(in_strand_after);
}

// An exception thrown by the work reaches the awaiting coroutine.
TEST(Offload, PassesExceptionsBack) {
  asio::io_context ioc;
  BlockingPool pool(1);
  std::string caught;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        try {
          (void)co_await offload(pool, []() -> int { throw std::runtime_error("boom"); });
        } catch (const std::runtime_error& e) {
          caught = e.what();
        }
        try {
          co_await offload(pool, []() { throw std::runtime_error("void boom"); });
        } catch (const std::runtime_error& e) {
          caught += std::string("|") + e.what();
        }
      },
      asio::detached);
  ioc.run();
  EXPECT_EQ(caught, "boom|void boom");
}

// A result type with no default constructor and move-only results.
TEST(Offload, MoveOnlyResult) {
  asio::io_context ioc;
  BlockingPool pool(1);
  std::unique_ptr<int> got;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        got = co_await offload(pool, [] { return std::make_unique<int>(7); });
      },
      asio::detached);
  ioc.run();
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, 7);
}

}  // namespace
}  // namespace rh
