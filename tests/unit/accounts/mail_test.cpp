#include "accounts/mail.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/config.hpp"
#include "core/metrics.hpp"
#include "core/settings.hpp"
#include "jobs/job_queue.hpp"
#include "jobs/schema.hpp"
#include "support/test_db.hpp"
#include "unit/accounts/mail_fixture.hpp"
#include "unit/unit_db.hpp"

namespace rh::accounts {
namespace {

namespace fs = std::filesystem;

std::size_t count_of(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

std::string base64_decode(const std::string& in) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    auto v = kAlphabet.find(c);
    if (v == std::string::npos) continue;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

// The text of RFC 2047 B encoded-words in a header value, decoded.
std::string decode_words(const std::string& value) {
  std::string out;
  std::size_t p = 0;
  while ((p = value.find("=?UTF-8?B?", p)) != std::string::npos) {
    p += 10;
    auto end = value.find("?=", p);
    out += base64_decode(value.substr(p, end - p));
    p = end + 2;
  }
  return out;
}

// A header field of a message (LF line endings), unfolded.
std::string header(const std::string& message, const std::string& name) {
  auto start = message.find("\n" + name + ": ");
  if (start == std::string::npos) return {};
  start += name.size() + 3;
  std::string out;
  for (auto p = start; p < message.size(); ++p) {
    if (message[p] == '\n') {
      if (p + 1 < message.size() && (message[p + 1] == ' ' || message[p + 1] == '\t')) continue;
      break;
    }
    out += message[p];
  }
  return out;
}

class MailTest : public MailFixture {
 protected:
  MailTest() : MailFixture(3, "rh-mail") {}

  void start() { register_mail_jobs(*worker_, clock_, opts_); }

  Email email(const std::string& to = "alice@example.com", const std::string& subject = "Hello") {
    return {"ten_1", to, subject, "Hi Alice,\nwelcome.\n", "verify_email"};
  }

  std::string mail_log() { return read_text(opts_.log_path); }
};

TEST_P(MailTest, QueueInARolledBackTransactionLeavesNoEmailAndNoJob) {
  std::string id;
  Status st = db().transaction([&](storage::Connection& c) -> Status {
    RH_ASSIGN(id, queue_email(c, *queue_, clock_, email()));
    return Error(Errc::conflict, "the change that wanted the email failed");
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(id.rfind("eml_", 0), 0u) << id;
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM emails"), 0);
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM jobs"), 0);
  EXPECT_EQ(get_email(db(), id).error().code, Errc::not_found);
}

TEST_P(MailTest, QueueStoresTheEmailAndItsJob) {
  std::string id = queue_ok(email());
  StoredEmail e = stored(id);
  EXPECT_EQ(e.id, id);
  EXPECT_EQ(e.tenant_id, "ten_1");
  EXPECT_EQ(e.to, "alice@example.com");
  EXPECT_EQ(e.subject, "Hello");
  EXPECT_EQ(e.text, "Hi Alice,\nwelcome.\n");
  EXPECT_EQ(e.kind, "verify_email");
  EXPECT_EQ(e.status, "queued");
  EXPECT_EQ(e.attempts, 0);
  EXPECT_EQ(e.created_at, clock_.now_ms());
  EXPECT_EQ(e.sent_at, 0);
  jobs::Job j = only_job();
  EXPECT_EQ(j.state, "queued");
  EXPECT_EQ(j.tenant_id, "ten_1");
  EXPECT_EQ(j.payload, R"({"email_id":")" + id + R"("})");
}

TEST_P(MailTest, WithoutSmtpTheEmailIsAppendedToTheMailLog) {
  start();
  Email e = email();
  e.subject = "Verify your address";
  e.text = "Hi Alice,\r\nFrom now on you can call.\r\n>From quoted\r\n\r\nbye";
  std::string id = queue_ok(e);
  clock_.advance_ms(5000);
  ASSERT_TRUE(run_one());

  std::string log = mail_log();
  // FakeClock starts at 2023-11-14T22:13:20Z, a Tuesday; the job ran 5 s later.
  EXPECT_EQ(log.rfind("From noreply@ring.example Tue Nov 14 22:13:25 2023\n", 0), 0u) << log;
  EXPECT_EQ(header(log, "Date"), "Tue, 14 Nov 2023 22:13:20 +0000");
  EXPECT_EQ(header(log, "From"), "Ring House <noreply@ring.example>");
  EXPECT_EQ(header(log, "To"), "alice@example.com");
  EXPECT_EQ(header(log, "Subject"), "Verify your address");
  EXPECT_EQ(header(log, "Message-ID"), "<" + id + "@ringhouse>");
  EXPECT_EQ(header(log, "MIME-Version"), "1.0");
  EXPECT_EQ(header(log, "Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(header(log, "Content-Transfer-Encoding"), "8bit");
  // Body after one blank line, LF endings, "From " lines quoted (mboxrd), and
  // the blank line that ends an mbox entry.
  EXPECT_NE(log.find("Content-Transfer-Encoding: 8bit\n\nHi Alice,\n>From now on you can call.\n"
                     ">>From quoted\n\nbye\n\n"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find('\r'), std::string::npos);
  EXPECT_EQ(log.substr(log.size() - 6), "\nbye\n\n");

  StoredEmail s = stored(id);
  EXPECT_EQ(s.status, "logged");
  EXPECT_EQ(s.sent_at, clock_.now_ms());
  EXPECT_EQ(s.attempts, 1);
  EXPECT_EQ(only_job().state, "done");
  EXPECT_EQ(fs::status(opts_.log_path).permissions() & fs::perms::others_read, fs::perms::none);
}

TEST_P(MailTest, MessagesAreAppendedNotOverwritten) {
  start();
  queue_ok(email("alice@example.com", "First"));
  queue_ok(email("bob@example.com", "Second"));
  ASSERT_TRUE(run_one());
  ASSERT_TRUE(run_one());
  EXPECT_FALSE(run_one());
  std::string log = mail_log();
  EXPECT_EQ(count_of("\n" + log, "\nFrom noreply@ring.example "), 2u) << log;
  EXPECT_NE(log.find("Subject: First\n"), std::string::npos);
  EXPECT_NE(log.find("Subject: Second\n"), std::string::npos);
}

TEST_P(MailTest, NonAsciiSubjectAndNameAreEncodedWords) {
  opts_.from_name = "Anneau Maison — équipe";
  start();
  std::string subject = "Vérifiez votre adresse e-mail pour activer votre numéro 📞 chez Ringhouse";
  std::string id = queue_ok(email("alice@example.com", subject));
  ASSERT_TRUE(run_one());
  std::string log = mail_log();
  std::string value = header(log, "Subject");
  EXPECT_EQ(value.rfind("=?UTF-8?B?", 0), 0u) << value;
  EXPECT_EQ(decode_words(value), subject);
  std::string from = header(log, "From");
  EXPECT_EQ(decode_words(from), "Anneau Maison — équipe");
  EXPECT_NE(from.find(" <noreply@ring.example>"), std::string::npos) << from;
  // Header lines holding encoded-words stay within 76 characters.
  std::istringstream lines(log.substr(0, log.find("\n\n")));
  for (std::string line; std::getline(lines, line);) {
    if (line.find("=?") != std::string::npos) {
      EXPECT_LE(line.size(), 76u) << line;
    }
  }
  EXPECT_EQ(stored(id).subject, subject);
}

TEST_P(MailTest, LongAsciiSubjectIsFolded) {
  start();
  std::string subject;
  for (int i = 0; i < 40; ++i) subject += (i ? " " : "") + std::string("word") + std::to_string(i);
  queue_ok(email("alice@example.com", subject));
  ASSERT_TRUE(run_one());
  std::string log = mail_log();
  EXPECT_EQ(header(log, "Subject"), subject);
  std::istringstream lines(log.substr(0, log.find("\n\n")));
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 78u) << line;
}

TEST_P(MailTest, ARepeatedJobDoesNotLogTwice) {
  start();
  std::string id = queue_ok(email());
  ASSERT_TRUE(run_one());
  std::string before = mail_log();
  jobs::JobSpec again;
  again.kind = "mail.send";
  again.payload = R"({"email_id":")" + id + R"("})";
  ASSERT_TRUE(queue_->enqueue(again).ok());
  ASSERT_TRUE(run_one());
  EXPECT_EQ(mail_log(), before);
  EXPECT_EQ(stored(id).attempts, 1);
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM jobs WHERE state = 'done'"), 2);
}

TEST_P(MailTest, AnUnwritableMailLogIsRetriedThenTheEmailFails) {
  opts_.log_path = dir_;  // a directory: open() fails
  start();
  std::string id = queue_ok(email());
  ASSERT_TRUE(run_one());
  jobs::Job j = only_job();
  EXPECT_EQ(j.state, "queued");
  EXPECT_NE(j.last_error.find("mail log"), std::string::npos) << j.last_error;
  StoredEmail s = stored(id);
  EXPECT_EQ(s.status, "queued");
  EXPECT_EQ(s.attempts, 1);
  EXPECT_NE(s.last_error.find("mail log"), std::string::npos) << s.last_error;

  for (int attempt = 2; attempt <= 3; ++attempt) {
    clock_.set_ms(only_job().run_at);
    ASSERT_TRUE(run_one());
  }
  EXPECT_EQ(only_job().state, "dead");
  s = stored(id);
  EXPECT_EQ(s.status, "failed");
  EXPECT_EQ(s.attempts, 3);
  EXPECT_EQ(s.sent_at, 0);
}

TEST_P(MailTest, ConcurrentWorkersWriteWholeMessages) {
  start();
  constexpr int kEmails = 12;
  // 40 lines of 100 bytes, different for each message.
  auto body_of = [](int i) {
    std::string b;
    for (int l = 0; l < 40; ++l) b += std::string(99, static_cast<char>('a' + i)) + "\n";
    return b + "end\n";
  };
  for (int i = 0; i < kEmails; ++i) {
    Email e = email("user" + std::to_string(i) + "@example.com", "Message " + std::to_string(i));
    e.text = body_of(i);
    queue_ok(e);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([this, t] {
      std::string owner = "test-node/" + std::to_string(t);
      for (;;) {
        auto r = worker_->run_one(owner);
        if (!r || !*r) break;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM emails WHERE status = 'logged'"), kEmails);
  std::string log = mail_log();
  EXPECT_EQ(count_of("\n" + log, "\nFrom noreply@ring.example "),
            static_cast<std::size_t>(kEmails));
  for (int i = 0; i < kEmails; ++i) {
    EXPECT_EQ(count_of(log, "\n\n" + body_of(i) + "\n"), 1u) << "message " << i;
  }
}

TEST_P(MailTest, BadInputIsRefused) {
  for (const std::string& to : std::vector<std::string>{
           "", "alice", "alice@", "@example.com", "a@b@example.com", "alice example@example.com",
           "Alice <alice@example.com>", "alice@example.com, bob@example.com",
           "alice@example.com\r\nBcc: eve@example.com", "alice@example.com\n", "alice@-example.com",
           "alice@example..com", ".alice@example.com", "al..ice@example.com", "élise@example.com",
           "alice@exämple.com", std::string(250, 'a') + "@example.com"}) {
    auto r = queue(email(to));
    ASSERT_FALSE(r.ok()) << to;
    EXPECT_EQ(r.error().code, Errc::invalid_argument) << to;
    EXPECT_EQ(r.error().field, "to") << to;
  }
  for (const std::string& subject : std::vector<std::string>{
           std::string(""), std::string("Hello\r\nBcc: eve@example.com"), std::string("Hi\nthere"),
           std::string("Hi\rthere"), std::string(999, 's'), std::string("bad \xff utf-8")}) {
    auto r = queue(email("alice@example.com", subject));
    ASSERT_FALSE(r.ok()) << subject;
    EXPECT_EQ(r.error().field, "subject") << subject;
  }
  Email long_line = email();
  long_line.text = std::string(999, 'x');
  EXPECT_EQ(queue(long_line).error().field, "text");
  Email no_kind = email();
  no_kind.kind = "";
  EXPECT_EQ(queue(no_kind).error().field, "kind");
  Email no_tenant = email();
  no_tenant.tenant_id = "";
  EXPECT_EQ(queue(no_tenant).error().field, "tenant_id");
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM emails"), 0);
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM jobs"), 0);

  // At the limits.
  EXPECT_TRUE(queue(email("o'brien+tag@mail.example.co.uk", std::string(998, 's'))).ok());
  EXPECT_TRUE(queue(email("root@localhost")).ok());
}

TEST_P(MailTest, ListAndGet) {
  std::string a = queue_ok({"ten_a", "alice@example.com", "One", "1", "verify_email"});
  clock_.advance_ms(1);
  std::string b = queue_ok({"ten_a", "bob@example.com", "Two", "2", "password_reset"});
  clock_.advance_ms(1);
  std::string c = queue_ok({"ten_b", "alice@example.com", "Three", "3", "verify_email"});

  auto ids = [](const Result<std::vector<StoredEmail>>& r) {
    EXPECT_TRUE(r.ok());
    std::vector<std::string> out;
    if (r)
      for (const auto& e : *r) out.push_back(e.id);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids(list_emails(db(), {})), (V{c, b, a}));  // newest first
  EXPECT_EQ(ids(list_emails(db(), {.tenant_id = "ten_a"})), (V{b, a}));
  EXPECT_EQ(ids(list_emails(db(), {.to = "alice@example.com"})), (V{c, a}));
  EXPECT_EQ(ids(list_emails(db(), {.kind = "password_reset"})), (V{b}));
  EXPECT_EQ(ids(list_emails(db(), {.limit = 2})), (V{c, b}));
  EXPECT_EQ(ids(list_emails(db(), {.after_id = b, .limit = 2})), (V{a}));

  auto got = get_email(db(), b);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->subject, "Two");
  EXPECT_EQ(got->text, "2");
  auto missing = get_email(db(), "eml_01jdzzzzzzzzzzzzzzzzzzzzzz");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

RH_ON_BOTH_DRIVERS(MailTest);

TEST(MailConfig, DefaultsAndChecks) {
  config::Schema s;
  core::declare_config(s);
  declare_mail_config(s);
  MailOptions o = mail_options(config::Config::defaults(s));
  EXPECT_EQ(o.smtp_url, "");
  EXPECT_EQ(o.smtp_user, "");
  EXPECT_EQ(o.smtp_password, "");
  EXPECT_TRUE(o.smtp_starttls);
  EXPECT_EQ(o.from, "ringhouse@localhost");
  EXPECT_EQ(o.from_name, "Ringhouse");
  EXPECT_EQ(o.log_path, (fs::path("./data") / "mail.log").string());
  EXPECT_EQ(o.timeout_ms, 15000);
  ASSERT_NE(s.find("mail.smtp_password"), nullptr);
  EXPECT_TRUE(s.find("mail.smtp_password")->secret);

  config::Sources src;
  src.overrides = {{"mail.smtp_url", "smtps://mail.example.com:465"},
                   {"mail.smtp_starttls", "false"},
                   {"mail.log_path", "/var/log/rh-mail"},
                   {"mail.timeout_ms", "2000"}};
  o = mail_options(config::Config::load(s, src));
  EXPECT_EQ(o.smtp_url, "smtps://mail.example.com:465");
  EXPECT_FALSE(o.smtp_starttls);
  EXPECT_EQ(o.log_path, "/var/log/rh-mail");
  EXPECT_EQ(o.timeout_ms, 2000);

  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"mail.smtp_url", "http://mail.example.com"},
           {"mail.from", "not an address"},
           {"mail.from_name", "Evil\r\nBcc: x@example.com"},
           {"mail.timeout_ms", "0"}}) {
    config::Sources bad;
    bad.overrides = {{key, value}};
    EXPECT_THROW(config::Config::load(s, bad), config::ConfigError) << key << "=" << value;
  }
}

}  // namespace
}  // namespace rh::accounts

namespace rh::accounts {

// The worker died during the last attempt: the queue dead-letters the job
// without running the handler, and the job.dead event marks the email failed.
TEST_P(MailTest, AnEmailWhoseJobDiedIsMarkedFailed) {
  std::string id = queue_ok(email());
  jobs::Job j = only_job();
  MailDeadLetters consumer(db(), *queue_);
  jobs::Event other;
  other.type = "job.dead";
  other.subject = j.id;
  other.payload = R"({"job_id":")" + j.id + R"(","kind":"diag.probe"})";
  ASSERT_TRUE(consumer.deliver(other));
  EXPECT_EQ(stored(id).status, "queued") << "another kind's death changes nothing";
  jobs::Event dead = other;
  dead.payload = R"({"job_id":")" + j.id + R"(","kind":"mail.send"})";
  ASSERT_TRUE(consumer.deliver(dead));
  StoredEmail e = stored(id);
  EXPECT_EQ(e.status, "failed");
  EXPECT_FALSE(e.last_error.empty());
  // Delivered twice (events are at least once): still fine.
  ASSERT_TRUE(consumer.deliver(dead));
  jobs::Event garbage;
  garbage.type = "job.dead";
  garbage.payload = "not json";
  EXPECT_TRUE(consumer.deliver(garbage));
}

}  // namespace rh::accounts
