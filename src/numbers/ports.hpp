// Port-in requests: a user asks to bring numbers they hold elsewhere. The
// request records the losing carrier's account details (the PIN sealed at
// rest) and supporting documents (a bill, a letter of authorisation: PDF,
// PNG or JPEG, kept in the blob store), and staff move it along:
//   submitted -> in_review -> approved -> completed
// or to rejected / cancelled (the user may cancel until it completes). Every
// step is kept in the request's history with who did it, written as a
// port_request.updated event and emailed to the user. Completing it puts the
// numbers into the inventory, active and owned by the user, on the trunk and
// messaging route staff name.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/principal.hpp"
#include "core/result.hpp"
#include "storage/blob_store.hpp"
#include "storage/database.hpp"

namespace rh::numbers {

struct PortDocument {
  std::string id;  // doc_...
  std::string name;
  std::string content_type;
  std::int64_t size = 0;
  std::int64_t uploaded_at = 0;
};

struct PortStep {
  std::string status;
  std::string note;
  std::string actor;
  std::int64_t at = 0;
};

struct PortRequest {
  std::string id;  // prt_...
  std::string tenant_id;
  std::string user_id;
  std::vector<std::string> numbers;  // E.164
  std::string losing_carrier;
  std::string account_number;
  bool pin_set = false;  // the PIN itself is never shown
  std::string account_name;
  std::string service_address;
  std::vector<PortDocument> documents;
  std::string status;
  std::vector<PortStep> history;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

struct PortInput {
  std::vector<std::string> numbers;  // E.164 or national in default_country
  std::string losing_carrier, account_number, account_pin, account_name, service_address;
};

struct PortTransition {
  std::string status;  // the new status
  std::string note;
  std::string actor;
  // Completing: where the numbers' calls and messages go, and their rental.
  std::string trunk, messaging_route;
  std::int64_t monthly_micros = 0;
};

struct PortFilter {
  std::string tenant_id;  // empty: all (platform staff)
  std::string status;
  std::string after_id;
  int limit = 50;
};

class PortStore {
 public:
  // notify(tx, request, subject, text): the email to the user (accounts owns
  // addresses and mail).
  using Notifier = std::function<Status(storage::Connection&, const PortRequest&,
                                        const std::string&, const std::string&)>;
  PortStore(storage::Database& db, storage::BlobStore& blobs, const Clock& clock,
            std::string data_key, std::int64_t period_s, Notifier notify)
      : db_(db),
        blobs_(blobs),
        clock_(clock),
        data_key_(std::move(data_key)),
        period_s_(period_s),
        notify_(std::move(notify)) {}

  Result<PortRequest> create(const UserScope& u, const PortInput& in,
                             const std::string& default_country);
  Result<std::vector<PortRequest>> list(const UserScope& u);
  Result<PortRequest> get(const UserScope& u, const std::string& id);
  // The content type is sniffed from the bytes (PDF, PNG, JPEG); a declared
  // type that disagrees is refused. At most 10 documents of 10 MiB each.
  Result<PortDocument> add_document(const UserScope& u, const std::string& id,
                                    const std::string& name, std::string_view declared_type,
                                    std::string_view bytes);
  Result<PortRequest> cancel(const UserScope& u, const std::string& id);

  Result<std::vector<PortRequest>> list(const PortFilter& f);
  Result<PortRequest> get(const TenantScope& s, const std::string& id);
  // The bytes and content type of a document.
  Result<std::pair<std::string, std::string>> document(const TenantScope& s, const std::string& id,
                                                       const std::string& doc_id);
  Result<PortRequest> transition(const TenantScope& s, const std::string& id,
                                 const PortTransition& t);

  static constexpr std::size_t kMaxDocumentBytes = 10 * 1024 * 1024;

 private:
  Result<PortRequest> load(storage::Connection& c, const std::string& id);
  Result<PortRequest> move(storage::Connection& c, PortRequest r, const PortTransition& t);

  storage::Database& db_;
  storage::BlobStore& blobs_;
  const Clock& clock_;
  std::string data_key_;
  std::int64_t period_s_;
  Notifier notify_;
};

// "application/pdf", "image/png", "image/jpeg", or "" when none of them.
std::string sniff_document_type(std::string_view bytes);

}  // namespace rh::numbers
