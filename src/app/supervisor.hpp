// A small process supervisor for `ringhouse up`: starts child processes
// (the API server, Kamailio and rtpengine), restarts one that dies
// with a growing back-off (and kills what it left in its process group), and
// on SIGINT/SIGTERM stops them all, politely
// first (SIGTERM), then with SIGKILL after a grace period.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace rh::app {

struct ChildSpec {
  std::string name;
  std::vector<std::string> argv;  // argv[0] is the executable path
  // Give up (stop everything, exit 1) when the child dies this many times in
  // a row within 10 s of starting: a bad configuration or a port in use will
  // not fix itself. 0: always restart.
  int max_quick_failures = 0;
};

// The absolute path of an executable: name itself when it holds a '/',
// else the first match in $PATH; nullopt when there is none.
std::optional<std::string> find_program(const std::string& name);
// argv with argv[0] resolved by find_program (left as is when not found:
// the spawn then reports it).
std::vector<std::string> resolve_program(std::vector<std::string> argv);

class Supervisor {
 public:
  explicit Supervisor(std::chrono::milliseconds grace) : grace_(grace) {}
  void add(ChildSpec spec);
  // Called on every loop turn (about 4 times a second) until it returns true.
  void on_tick(std::function<bool()> fn) { tick_ = std::move(fn); }
  // Runs until a stop signal; returns the exit code for the process.
  int run();
  pid_t pid_of(const std::string& name) const;

 private:
  struct Child {
    ChildSpec spec;
    pid_t pid = -1;
    int restarts = 0;
    int quick_failures = 0;
    std::chrono::steady_clock::time_point started{};
    std::chrono::steady_clock::time_point restart_at{};
  };
  bool spawn(Child& c);
  std::vector<Child> children_;
  std::chrono::milliseconds grace_;
  std::function<bool()> tick_;
};

}  // namespace rh::app
