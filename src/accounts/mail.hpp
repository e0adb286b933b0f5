// Outgoing email through an outbox: queue_email stores the message and
// enqueues its delivery in the caller's transaction, so an email is sent if
// and only if the change that caused it commits. The `mail.send` job delivers
// it by SMTP when mail.smtp_url is set; otherwise it appends it to the mail
// log (mail.log_path, mbox format) and marks it "logged". Either way the
// message stays readable by a platform admin (GET /v1/admin/emails) until it
// is pruned: nothing is dropped silently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/principal.hpp"
#include "core/result.hpp"
#include "jobs/job_queue.hpp"
#include "jobs/outbox.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"

namespace rh::accounts {

struct Email {
  std::string tenant_id;
  std::string to;       // one address
  std::string subject;  // one line, UTF-8
  std::string text;     // plain-text body, UTF-8
  std::string kind;     // what it is for: "verify_email", "password_reset", ...
};

struct StoredEmail {
  std::string id;  // eml_...
  std::string tenant_id;
  std::string to;
  std::string subject;
  std::string text;
  std::string kind;
  std::string status;  // queued | sent | logged | failed
  int attempts = 0;
  std::string last_error;
  std::int64_t created_at = 0;
  std::int64_t sent_at = 0;  // 0 until sent or logged
};

// Stores the email and enqueues its delivery, inside the caller's transaction.
Result<std::string> queue_email(storage::Connection& tx, jobs::JobQueue& queue, const Clock& clock,
                                const Email& e);

class UserStore;
// The same, to a user's own address; nothing when the user is gone. For
// notices that follow a change (renewals, port requests, ...).
Status queue_email_to_user(storage::Connection& tx, jobs::JobQueue& queue, const Clock& clock,
                           UserStore& users, const UserScope& user, const std::string& subject,
                           const std::string& text, const std::string& kind);

struct EmailFilter {
  std::string tenant_id;  // empty: every tenant
  std::string to;         // empty: any recipient
  std::string kind;       // empty: any kind
  std::string after_id;   // cursor: ids are time-ordered, newest first
  int limit = 50;
};
Result<std::vector<StoredEmail>> list_emails(storage::Database& db, const EmailFilter& f);
Result<StoredEmail> get_email(storage::Database& db, const std::string& id);

struct MailOptions {
  std::string smtp_url;  // smtp://host:port or smtps://host:port; empty: mail log only
  std::string smtp_user;
  std::string smtp_password;
  bool smtp_starttls = true;  // require STARTTLS on smtp:// (off only for a local relay)
  std::string from;           // From: address
  std::string from_name;      // From: display name
  std::string log_path;       // mail log file (mbox)
  int timeout_ms = 15000;
};

void declare_mail_config(config::Schema& s);
// log_path defaults to <node.data_dir>/mail.log.
MailOptions mail_options(const config::Config& c);

// Registers the mail.send job handler.
void register_mail_jobs(jobs::JobWorker& worker, const Clock& clock, const MailOptions& o);

// Marks an email "failed" when its delivery job was dead-lettered without
// running its handler (the worker died during the last attempt): listens for
// job.dead events of mail.send jobs.
class MailDeadLetters final : public jobs::EventConsumer {
 public:
  MailDeadLetters(storage::Database& db, jobs::JobQueue& queue) : db_(db), queue_(queue) {}
  std::string name() const override { return "mail-dead-letters"; }
  Status deliver(const jobs::Event& e) override;

 private:
  storage::Database& db_;
  jobs::JobQueue& queue_;
};

std::vector<storage::Migration> mail_migrations();

}  // namespace rh::accounts
