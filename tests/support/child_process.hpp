// A helper program (a Python fake, a sink) run as a child of the test: it
// announces itself with one line on stdout ("READY <port>"), dies with the
// test (PR_SET_PDEATHSIG, and SIGTERM then SIGKILL in the destructor).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace rh::test {

// Whether `program` is an executable file in $PATH (or a path to one).
bool program_available(const std::string& program);

class ChildProcess {
 public:
  struct Started {
    bool ok = false;
    std::string why;  // when not ok: what went wrong, with the child's stderr
  };

  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Runs argv (argv[0] looked up in $PATH) and waits up to `timeout` for a
  // first stdout line starting with ready_prefix; ready_value() is the rest
  // of it. The child's stdin is /dev/null, its stderr goes to a temporary
  // file quoted in `why` when it does not start.
  Started start(const std::vector<std::string>& argv,
                std::chrono::milliseconds timeout = std::chrono::seconds(20),
                const std::string& ready_prefix = "READY ");

  const std::string& ready_value() const { return ready_value_; }
  // ready_value() as a port number (0 if it is not one).
  std::uint16_t port() const;
  pid_t pid() const { return pid_; }
  bool running();
  // SIGTERM, up to `grace` to exit, then SIGKILL; reaps the child.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(2));
  // What the child wrote on stderr so far.
  std::string stderr_text() const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::string ready_value_;
  std::string stderr_path_;
};

}  // namespace rh::test
