#include "app/supervisor.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/log.hpp"

namespace rh::app {

namespace {
// A child that ends within this of its start failed to start, as far as
// max_quick_failures counts.
constexpr auto kQuickFailure = std::chrono::seconds(10);
}  // namespace

std::optional<std::string> find_program(const std::string& name) {
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) == 0) return name;
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
  // Kamailio and rtpengine live in sbin, which a user's PATH may lack.
  dirs += ":/usr/local/sbin:/usr/sbin:/sbin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (!dir.empty()) {
      std::string candidate = dir + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    start = end + 1;
  }
  return std::nullopt;
}

std::vector<std::string> resolve_program(std::vector<std::string> argv) {
  if (!argv.empty()) {
    if (auto p = find_program(argv[0])) argv[0] = *p;
  }
  return argv;
}


void Supervisor::add(ChildSpec spec) {
  children_.push_back({std::move(spec)});
}

pid_t Supervisor::pid_of(const std::string& name) const {
  for (const auto& c : children_) {
    if (c.spec.name == name) return c.pid;
  }
  return -1;
}

bool Supervisor::spawn(Child& c) {
  auto logger = log::get("up");
  std::vector<char*> argv;
  for (auto& a : c.spec.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    logger->error("cannot start {}: {}", c.spec.name, std::strerror(errno));
    return false;
  }
  if (pid == 0) {
    // Child: unblock signals, die with the supervisor, exec.
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);
    // Its own process group: Kamailio forks workers that outlive a main
    // process killed hard, holding the SIP ports; the group is killed with it.
    setpgid(0, 0);
    execv(argv[0], argv.data());
    std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  setpgid(pid, pid);  // also here: whichever runs first
  c.pid = pid;
  c.started = std::chrono::steady_clock::now();
  logger->info("started {} (pid {})", c.spec.name, pid);
  return true;
}

int Supervisor::run() {
  auto logger = log::get("up");
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, nullptr);

  for (auto& c : children_) spawn(c);
  bool stopping = false;
  bool failed = false;
  bool ticking = static_cast<bool>(tick_);
  std::chrono::steady_clock::time_point deadline{};
  for (;;) {
    timespec ts{0, 250'000'000};
    siginfo_t info{};
    int sig = sigtimedwait(&set, &info, &ts);
    auto now = std::chrono::steady_clock::now();
    if ((sig == SIGINT || sig == SIGTERM || sig == SIGHUP) && !stopping) {
      logger->info("stopping (signal {})", sig);
      stopping = true;
      deadline = now + grace_;
      for (auto& c : children_) {
        if (c.pid > 0) kill(c.pid, SIGTERM);
      }
    }
    // Reap whatever exited.
    for (;;) {
      int status = 0;
      pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      for (auto& c : children_) {
        if (c.pid != pid) continue;
        // Whatever the child left behind in its group (orphaned workers).
        kill(-pid, SIGKILL);
        c.pid = -1;
        std::string how = WIFEXITED(status)
                              ? "exited with status " + std::to_string(WEXITSTATUS(status))
                              : "was killed by signal " + std::to_string(WTERMSIG(status));
        if (stopping) {
          logger->info("{} {}", c.spec.name, how);
          break;
        }
        if (now - c.started < kQuickFailure) {
          ++c.quick_failures;
        } else {
          c.quick_failures = 0;
        }
        if (c.spec.max_quick_failures > 0 && c.quick_failures >= c.spec.max_quick_failures) {
          logger->error(
              "{} ended {} times in a row within {} s of starting (the last {}); giving up",
              c.spec.name, c.quick_failures, kQuickFailure.count(), how);
          failed = true;
          stopping = true;
          deadline = now + grace_;
          for (auto& other : children_) {
            if (other.pid > 0) kill(other.pid, SIGTERM);
          }
          break;
        }
        // Back-off: 1 s, 2 s, 4 s ... 30 s; reset after a minute of good running.
        if (now - c.started > std::chrono::minutes(1)) c.restarts = 0;
        auto delay = std::chrono::seconds(std::min(30, 1 << std::min(c.restarts, 5)));
        ++c.restarts;
        c.restart_at = now + delay;
        logger->warn("{} {}; restarting in {} s", c.spec.name, how, delay.count());
      }
    }
    if (stopping) {
      bool all_gone = true;
      for (auto& c : children_) all_gone &= c.pid <= 0;
      if (all_gone) return failed ? 1 : 0;
      if (now >= deadline) {
        for (auto& c : children_) {
          if (c.pid > 0) {
            logger->warn("{} did not stop in time; killing it", c.spec.name);
            kill(-c.pid, SIGKILL);
            kill(c.pid, SIGKILL);
          }
        }
        deadline = now + std::chrono::hours(1);
      }
      continue;
    }
    for (auto& c : children_) {
      if (c.pid <= 0 && now >= c.restart_at) spawn(c);
    }
    if (ticking && tick_()) ticking = false;
  }
}

}  // namespace rh::app
