#include "support/process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/test_db.hpp"

namespace rh::test {

namespace fs = std::filesystem;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

pid_t spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
            const std::string& log_path) {
  std::vector<std::string> full{RH_BINARY};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    // The server dies with the test, even when the test crashes.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    execv(argv[0], argv.data());
    std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  return pid;
}

}  // namespace

RinghouseProcess::RinghouseProcess(ProcessOptions o) : opts_(std::move(o)) {
  data_dir_ = opts_.data_dir;
  if (data_dir_.empty()) {
    data_dir_ = make_temp_dir("rh-e2e");
    own_dir_ = true;
  }
  fs::remove(data_dir_ + "/run/http.json");
  std::vector<std::string> args{opts_.command, "--data-dir", data_dir_};
  if (opts_.command == "serve" || opts_.command == "up") {
    args.push_back("--http-port");
    args.push_back("0");
  }
  args.insert(args.end(), opts_.args.begin(), opts_.args.end());
  pid_ = spawn(args, opts_.env, log_path());
  if (opts_.wait_ready && !wait_ready()) {
    ADD_FAILURE() << "ringhouse did not become ready; log " << log_path() << ":\n" << log();
  }
}

RinghouseProcess::~RinghouseProcess() {
  if (running()) {
    signal(SIGKILL);
    wait_exit(std::chrono::seconds(10));
  }
  bool failed = ::testing::Test::HasFailure();
  if (failed || keep_) {
    std::fprintf(stderr, "[ringhouse] data and log kept in %s\n", data_dir_.c_str());
  } else if (own_dir_) {
    std::error_code ec;
    fs::remove_all(data_dir_, ec);
  }
}

std::string RinghouseProcess::log() const {
  return read_file(log_path());
}

std::string RinghouseProcess::operator_token() const {
  std::string t = read_file(data_dir_ + "/secrets/operator-token");
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  return t;
}

bool RinghouseProcess::wait_ready(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) return false;
    auto run = read_run_file(data_dir_);
    // `up` runs the server as its child: any pid will do there.
    if (run && (opts_.command == "up" || run->pid == pid_)) {
      port_ = run->port;
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void RinghouseProcess::signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

bool RinghouseProcess::running() {
  if (pid_ <= 0 || status_) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = st;
    return false;
  }
  return true;
}

std::optional<int> RinghouseProcess::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return status_;
}

std::optional<RunInfo> read_run_file(const std::string& data_dir) {
  boost::system::error_code ec;
  auto v = boost::json::parse(read_file(data_dir + "/run/http.json"), ec);
  if (ec || !v.is_object() || !v.as_object().contains("pid") || !v.as_object().contains("port"))
    return std::nullopt;
  return RunInfo{v.as_object().at("pid").to_number<long>(),
                 static_cast<std::uint16_t>(v.as_object().at("port").to_number<int>())};
}

CommandResult run_ringhouse(const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& env) {
  std::string dir = make_temp_dir("rh-cmd");
  std::string log = dir + "/out.log";
  pid_t pid = spawn(args, env, log);
  int st = 0;
  waitpid(pid, &st, 0);
  CommandResult r;
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r.output = read_file(log);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return r;
}

}  // namespace rh::test
