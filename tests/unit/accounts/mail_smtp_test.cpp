// The mail.send job's SMTP path through the real libcurl, against a real SMTP
// server process on loopback (tests/support/smtp-sink.py, Python's smtpd).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "accounts/mail.hpp"
#include "core/metrics.hpp"
#include "jobs/job_queue.hpp"
#include "jobs/schema.hpp"
#include "support/test_db.hpp"
#include "unit/accounts/mail_fixture.hpp"
#include "unit/unit_db.hpp"

namespace rh::accounts {
namespace {

namespace fs = std::filesystem;

// smtp-sink.py as a child process; it dies with the test (PDEATHSIG).
class SmtpSink {
 public:
  // Starts the sink writing into dir; false (with the reason) when this
  // machine cannot run it.
  bool start(const std::string& dir, std::string& why) {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) {
      why = "pipe failed";
      return false;
    }
    std::string script = std::string(RH_SOURCE_DIR) + "/tests/support/smtp-sink.py";
    std::vector<std::string> args{"python3", "-W", "ignore", script, dir};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      dup2(out[1], 1);
      execvp(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    if (pid_ < 0) {
      close(out[0]);
      why = "fork failed";
      return false;
    }
    // The first line: "port N", or "skip: ..." when there is no smtpd module.
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{out[0], POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      char buf[256];
      ssize_t n = read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    close(out[0]);
    if (line.rfind("port ", 0) == 0) {
      port_ = static_cast<std::uint16_t>(std::stoi(line.substr(5)));
      return true;
    }
    if (line.rfind("skip: ", 0) == 0) {
      why = "smtp-sink.py cannot run: " + line.substr(6, line.find('\n') - 6);
    } else if (line.empty()) {
      why = "python3 is not available (smtp-sink.py did not start)";
    } else {
      why = "smtp-sink.py said: " + line;
    }
    return false;
  }

  ~SmtpSink() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }

  std::uint16_t port() const { return port_; }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

// A loopback port nothing listens on (bound, then released).
std::uint16_t closed_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

class MailSmtpTest : public MailFixture {
 protected:
  MailSmtpTest() : MailFixture(2, "rh-mail-smtp") {}

  void SetUp() override {
    MailFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    opts_.smtp_starttls = false;  // the sink has no TLS
    opts_.timeout_ms = 10'000;
  }

  void TearDown() override {
    sink_.reset();
    MailFixture::TearDown();
  }

  // Starts the sink and points the mail job at it; the caller returns when it
  // skipped.
  void start_sink() {
    sink_ = std::make_unique<SmtpSink>();
    std::string why;
    if (!sink_->start(dir_ + "/received", why)) GTEST_SKIP() << why;
    opts_.smtp_url = "smtp://127.0.0.1:" + std::to_string(sink_->port());
  }

  std::string received(int n, const char* ext) {
    return read_text(dir_ + "/received/" + std::to_string(n) + ext);
  }

  std::unique_ptr<SmtpSink> sink_;
};

TEST_P(MailSmtpTest, SendsTheMessageBySmtp) {
  start_sink();
  if (IsSkipped()) return;
  register_mail_jobs(*worker_, clock_, opts_);
  std::string id = queue_ok({"ten_1", "alice@example.com", "Reset your password",
                             "Hi Alice,\n.leading dot\nFrom here on\nhttps://ring.example/r/abc\n",
                             "password_reset"});
  clock_.advance_ms(1000);
  ASSERT_TRUE(run_one());

  EXPECT_EQ(only_job().state, "done") << only_job().last_error;
  StoredEmail s = stored(id);
  EXPECT_EQ(s.status, "sent");
  EXPECT_EQ(s.sent_at, clock_.now_ms());
  EXPECT_EQ(s.attempts, 1);

  std::string msg = received(1, ".eml");
  EXPECT_NE(msg.find("Subject: Reset your password\n"), std::string::npos) << msg;
  EXPECT_NE(msg.find("To: alice@example.com\n"), std::string::npos) << msg;
  EXPECT_NE(msg.find("From: Ring House <noreply@ring.example>\n"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Message-ID: <" + id + "@ringhouse>\n"), std::string::npos) << msg;
  // The body arrives as written: no mbox quoting, the leading dot unstuffed.
  EXPECT_NE(msg.find("\n\nHi Alice,\n.leading dot\nFrom here on\nhttps://ring.example/r/abc"),
            std::string::npos)
      << msg;
  auto envelope = boost::json::parse(received(1, ".json")).as_object();
  EXPECT_EQ(envelope.at("mail_from").as_string(), "noreply@ring.example");
  ASSERT_EQ(envelope.at("rcpt_tos").as_array().size(), 1u);
  EXPECT_EQ(envelope.at("rcpt_tos").as_array()[0].as_string(), "alice@example.com");
  EXPECT_FALSE(fs::exists(opts_.log_path));  // not the mail log
}

TEST_P(MailSmtpTest, ARefusedRecipientFailsAtOnce) {
  start_sink();
  if (IsSkipped()) return;
  register_mail_jobs(*worker_, clock_, opts_);
  std::string id = queue_ok({"ten_1", "reject@example.com", "Hello", "Hi\n", "verify_email"});
  ASSERT_TRUE(run_one());
  jobs::Job j = only_job();
  EXPECT_EQ(j.state, "dead");
  EXPECT_EQ(j.attempts, 1);
  StoredEmail s = stored(id);
  EXPECT_EQ(s.status, "failed");
  EXPECT_EQ(s.attempts, 1);
  EXPECT_NE(s.last_error.find("550"), std::string::npos) << s.last_error;
  EXPECT_FALSE(fs::exists(dir_ + "/received/1.eml"));
}

TEST_P(MailSmtpTest, StarttlsIsRequiredWhenAsked) {
  start_sink();
  if (IsSkipped()) return;
  opts_.smtp_starttls = true;  // the sink does not offer STARTTLS
  register_mail_jobs(*worker_, clock_, opts_);
  std::string id =
      queue_ok({"ten_1", "alice@example.com", "Hello", "secret link\n", "verify_email"});
  ASSERT_TRUE(run_one());
  EXPECT_EQ(only_job().state, "queued");
  StoredEmail s = stored(id);
  EXPECT_EQ(s.status, "queued");
  EXPECT_FALSE(s.last_error.empty());
  EXPECT_FALSE(fs::exists(dir_ + "/received/1.eml"));  // nothing sent in the clear
}

TEST_P(MailSmtpTest, AClosedPortIsRetriedThenTheEmailFails) {
  std::uint16_t port = closed_port();
  opts_.smtp_url = "smtp://127.0.0.1:" + std::to_string(port);
  register_mail_jobs(*worker_, clock_, opts_);
  std::string id = queue_ok({"ten_1", "alice@example.com", "Hello", "Hi\n", "verify_email"});
  ASSERT_TRUE(run_one());

  jobs::Job j = only_job();
  EXPECT_EQ(j.state, "queued");  // retryable: back to the queue with back-off
  EXPECT_GT(j.run_at, clock_.now_ms());
  EXPECT_NE(j.last_error.find("SMTP delivery"), std::string::npos) << j.last_error;
  StoredEmail s = stored(id);
  EXPECT_EQ(s.status, "queued");
  EXPECT_EQ(s.attempts, 1);
  EXPECT_NE(s.last_error.find("SMTP delivery to alice@example.com failed"), std::string::npos)
      << s.last_error;

  clock_.set_ms(j.run_at);
  ASSERT_TRUE(run_one());  // the last of the 2 attempts
  EXPECT_EQ(only_job().state, "dead");
  s = stored(id);
  EXPECT_EQ(s.status, "failed");
  EXPECT_EQ(s.attempts, 2);
  EXPECT_EQ(s.sent_at, 0);
}

RH_ON_BOTH_DRIVERS(MailSmtpTest);

}  // namespace
}  // namespace rh::accounts
