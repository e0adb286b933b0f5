#include "support/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace rh::test {

bool program_available(const std::string& program) {
  auto executable = [](const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
           ::access(path.c_str(), X_OK) == 0;
  };
  if (program.find('/') != std::string::npos) return executable(program);
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (!dir.empty() && executable(dir + "/" + program)) return true;
  }
  return false;
}

ChildProcess::~ChildProcess() {
  stop();
  if (!stderr_path_.empty()) ::unlink(stderr_path_.c_str());
}

ChildProcess::Started ChildProcess::start(const std::vector<std::string>& args,
                                          std::chrono::milliseconds timeout,
                                          const std::string& ready_prefix) {
  Started out;
  if (pid_ > 0) {
    out.why = "already started";
    return out;
  }
  if (args.empty()) {
    out.why = "no program to run";
    return out;
  }
  char tmpl[] = "/tmp/rh-child-stderr-XXXXXX";
  int err_fd = ::mkostemp(tmpl, O_CLOEXEC);
  if (err_fd < 0) {
    out.why = std::string("mkstemp: ") + std::strerror(errno);
    return out;
  }
  stderr_path_ = tmpl;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    ::close(err_fd);
    out.why = std::string("pipe: ") + std::strerror(errno);
    return out;
  }
  // Everything the child needs is built before fork: after it, only
  // async-signal-safe calls until exec.
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);  // the parent is gone already
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(pipe_fds[1], 1);
    ::dup2(err_fd, 2);
    ::execvp(argv[0], argv.data());
    const char msg[] = "exec failed\n";
    ssize_t ignored = ::write(2, msg, sizeof msg - 1);
    (void)ignored;
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  ::close(err_fd);
  if (pid < 0) {
    ::close(pipe_fds[0]);
    out.why = std::string("fork: ") + std::strerror(errno);
    return out;
  }
  pid_ = pid;
  reaped_ = false;

  std::string line;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (line.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{pipe_fds[0], POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 200)));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[256];
    ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the child closed stdout (or exited)
    line.append(buf, static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  std::string first = line.substr(0, line.find('\n'));
  if (line.find('\n') != std::string::npos && first.rfind(ready_prefix, 0) == 0) {
    ready_value_ = first.substr(ready_prefix.size());
    out.ok = true;
    return out;
  }
  std::string err = stderr_text();
  stop(std::chrono::milliseconds(500));
  if (first.empty()) {
    out.why = args[0] + " did not say '" + ready_prefix + "...' within " +
              std::to_string(timeout.count()) + " ms";
  } else {
    out.why = args[0] + " said: " + first;
  }
  if (!err.empty()) out.why += "; stderr: " + err.substr(0, 2000);
  return out;
}

std::uint16_t ChildProcess::port() const {
  char* end = nullptr;
  long v = std::strtol(ready_value_.c_str(), &end, 10);
  if (end == ready_value_.c_str() || v <= 0 || v > 65535) return 0;
  return static_cast<std::uint16_t>(v);
}

bool ChildProcess::running() {
  if (pid_ <= 0 || reaped_) return false;
  int st = 0;
  if (::waitpid(pid_, &st, WNOHANG) == pid_) {
    reaped_ = true;
    return false;
  }
  return true;
}

void ChildProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0 || reaped_) return;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
      reaped_ = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string ChildProcess::stderr_text() const {
  if (stderr_path_.empty()) return "";
  std::ifstream in(stderr_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace rh::test
