// Runs the real ringhouse binary for an end-to-end test: its own data
// directory, a free port (--http-port 0, read back from run/http.json), its
// output in <dir>/ringhouse.log. The directory is kept when a test fails.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rh::test {

struct ProcessOptions {
  std::string command = "serve";
  std::string data_dir;                    // empty: a new temporary directory
  std::vector<std::string> args;           // extra arguments (--set k=v ...)
  std::map<std::string, std::string> env;  // extra environment
  bool wait_ready = true;                  // wait for run/http.json
};

class RinghouseProcess {
 public:
  explicit RinghouseProcess(ProcessOptions o);
  ~RinghouseProcess();
  RinghouseProcess(const RinghouseProcess&) = delete;
  RinghouseProcess& operator=(const RinghouseProcess&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& data_dir() const { return data_dir_; }
  std::string log_path() const { return data_dir_ + "/ringhouse.log"; }
  std::string log() const;
  std::string operator_token() const;

  // Waits for run/http.json written by this process; false on timeout or exit.
  bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void signal(int sig);
  // Waits for the process to exit; returns its wait status, or nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  bool running();
  // Keep the data directory (a failed test's logs).
  void keep_dir() { keep_ = true; }

 private:
  ProcessOptions opts_;
  std::string data_dir_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  bool own_dir_ = false;
  bool keep_ = false;
  std::optional<int> status_;
};

// What a running server wrote to <data_dir>/run/http.json, if anything.
struct RunInfo {
  long pid = 0;
  std::uint16_t port = 0;
};
std::optional<RunInfo> read_run_file(const std::string& data_dir);

// Runs the binary to completion (config, admin, migrate commands).
struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};
CommandResult run_ringhouse(const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& env = {});

}  // namespace rh::test
