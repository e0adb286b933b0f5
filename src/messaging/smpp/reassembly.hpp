// Durable reassembly of concatenated MO messages.
//
// A long inbound SMS comes as several deliver_sm, tied together by a
// concatenation UDH (IEI 0x00, 8-bit reference, or IEI 0x08, 16-bit) or by
// the sar_msg_ref_num / sar_total_segments / sar_segment_seqnum TLVs
// (smpp/udh.hpp user_data_of() reads all three forms). A message carried in
// one message_payload TLV is not concatenated: it is just longer, and needs
// no reassembly.
//
// The SMSC forgets a part once it has our deliver_sm_resp ESME_ROK, so each
// part must be stored durably before that response: the gateway hands every
// part to a PartStore, answers the part once add() succeeded, and when add()
// reports the set complete it joins the parts (the payload bytes in seq
// order, then decode_text() once, so that a character split between two parts
// — a UTF-16 surrogate pair cut by a careless sender — joins again), hands the
// message to its consumer, and removes the parts after the consumer stored
// the message.
//
// Parts of one message share a key: route, source, destination, reference and
// whether the reference is 16-bit (an 8-bit and a 16-bit reference of the
// same value are different messages). Rules both stores follow:
//  * a part received again replaces the stored copy (same seq);
//  * a part whose total differs from the parts stored under its key belongs
//    to a newer message that reuses the reference: the older, incomplete
//    parts are dropped;
//  * the set is complete when seq 1..total are all stored.
// Blocking: SqlPartStore runs SQL (see storage/database.hpp): call it from a
// blocking pool, never from an I/O thread.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "storage/migrations.hpp"

namespace rh::storage {
class Database;
}

namespace rh::messaging::smpp {

struct MoPart {
  std::string route;        // the gateway route the part came in on
  std::string source;       // as InboundSms gives it: E.164, or a short code / name as received
  std::string destination;  // idem
  std::uint16_t reference = 0;
  bool ref16 = false;  // 16-bit reference (UDH IEI 0x08 or sar_msg_ref_num)
  std::uint8_t total = 1;
  std::uint8_t seq = 1;
  std::uint8_t data_coding = 0;
  std::string payload;  // the user data after the UDH (bytes, as received)
  std::int64_t received_ms = 0;
  bool operator==(const MoPart&) const = default;
};

// What the parts of one message share.
struct MoPartKey {
  std::string route;
  std::string source;
  std::string destination;
  std::uint16_t reference = 0;
  bool ref16 = false;
  auto operator<=>(const MoPartKey&) const = default;
};

MoPartKey key_of(const MoPart& part);
// "smsc1 +15550001111>+15550002222 ref8:42", for logs and de-duplication.
std::string describe(const MoPartKey& key);

// invalid_argument unless 1 ≤ seq ≤ total and an 8-bit reference is < 256.
Status validate_part(const MoPart& part);

// The payloads joined in the order given (callers pass seq order).
std::string join_payloads(const std::vector<MoPart>& parts);

// The message text: the joined payloads decoded once with the first part's
// data_coding (messaging::decode_text, Malformed::replace). Errors: no parts,
// or a binary/unsupported data_coding (decode_text's reasons).
Result<std::string> joined_text(const std::vector<MoPart>& parts);

class PartStore {
 public:
  virtual ~PartStore() = default;
  // Stores the part (a repeated part replaces the earlier copy); if the
  // message is now complete, returns all its parts in seq order.
  virtual Result<std::optional<std::vector<MoPart>>> add(const MoPart& part) = 0;
  // After the whole message has been stored by the consumer: drops every
  // part under the key of any_part_of_message.
  virtual Status remove(const MoPart& any_part_of_message) = 0;
  // Drops the sets whose newest part was received before older_than_ms (a
  // time in ms since the epoch, e.g. now - max_age); returns how many parts
  // were dropped.
  virtual Result<int> expire(std::int64_t older_than_ms) = 0;
};

// In memory, thread-safe: for tests and for a gateway without a database
// (parts are then lost on a restart, and the SMSC does not resend them).
class MemoryPartStore final : public PartStore {
 public:
  Result<std::optional<std::vector<MoPart>>> add(const MoPart& part) override;
  Status remove(const MoPart& any_part_of_message) override;
  Result<int> expire(std::int64_t older_than_ms) override;
  // Parts stored now.
  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<MoPartKey, std::map<std::uint8_t, MoPart>> sets_;
};

// In the table smpp_mo_parts (smpp_migrations()), on SQLite or MariaDB. add()
// runs in one transaction; on MariaDB it locks the key's rows (and gap) first,
// so that two parts of one message stored at once by two nodes cannot both
// miss each other (the loser of the resulting deadlock is retried by
// Database::transaction).
class SqlPartStore final : public PartStore {
 public:
  explicit SqlPartStore(storage::Database& db) : db_(db) {}
  Result<std::optional<std::vector<MoPart>>> add(const MoPart& part) override;
  Status remove(const MoPart& any_part_of_message) override;
  Result<int> expire(std::int64_t older_than_ms) override;

 private:
  storage::Database& db_;
};

// The table smpp_mo_parts, primary key (route, source, destination,
// reference, ref16, seq). Version 2026112701.
std::vector<storage::Migration> smpp_migrations();

}  // namespace rh::messaging::smpp
