// Fuzz target: concatenated MO parts as an SMSC might send them
// (messaging/smpp/reassembly.hpp). The input is a sequence of records
//   flags  bit 0: 16-bit reference; bits 1..2 pick the data_coding
//          (0x00 GSM-7, 0x08 UCS-2, 0x03 Latin-1, 0x04 binary)
//   ref    reference (one octet; two when 16-bit)
//   total, seq, len, then len payload octets
// fed to a MemoryPartStore in order. Nothing may crash, and:
//  * invalid parts (seq 0, seq > total, total 0) are refused, valid ones taken,
//  * a completed set has seq 1..total in order, all with that total, and its
//    joined payload is the parts' payloads end to end,
//  * joined_text() never fails for a text data_coding (Malformed::replace),
//  * after remove() and expire() the store is empty.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "messaging/smpp/reassembly.hpp"

namespace {

namespace smpp = rh::messaging::smpp;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr std::uint8_t kCodings[] = {0x00, 0x08, 0x03, 0x04};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  smpp::MemoryPartStore store;
  std::size_t i = 0;
  std::int64_t t = 0;
  auto take = [&](std::uint8_t& out) {
    if (i >= size) return false;
    out = data[i++];
    return true;
  };
  for (;;) {
    std::uint8_t flags, r1, r2 = 0, total, seq, len;
    if (!take(flags) || !take(r1)) break;
    const bool ref16 = flags & 1;
    if (ref16 && !take(r2)) break;
    if (!take(total) || !take(seq) || !take(len)) break;
    smpp::MoPart p;
    p.route = "r";
    p.source = "+1555";
    p.destination = "+1666";
    p.ref16 = ref16;
    p.reference = ref16 ? static_cast<std::uint16_t>(r1 << 8 | r2) : r1;
    p.total = total;
    p.seq = seq;
    p.data_coding = kCodings[(flags >> 1) & 3];
    std::size_t n = std::min<std::size_t>(len, size - i);
    p.payload.assign(reinterpret_cast<const char*>(data + i), n);
    i += n;
    p.received_ms = ++t;
    const bool valid = total >= 1 && seq >= 1 && seq <= total;
    auto r = store.add(p);
    check(r.ok() == valid);
    if (!r || !r->has_value()) continue;
    const auto& parts = **r;
    check(parts.size() == total);
    std::string joined;
    for (std::size_t k = 0; k < parts.size(); ++k) {
      check(parts[k].seq == k + 1);
      check(parts[k].total == total);
      check(smpp::key_of(parts[k]) == smpp::key_of(p));
      joined += parts[k].payload;
    }
    check(smpp::join_payloads(parts) == joined);
    auto text = smpp::joined_text(parts);
    check(text.ok() == (parts.front().data_coding != 0x04));
    check(store.remove(p).ok());
  }
  auto n = store.expire(t + 1);
  check(n.ok());
  check(store.size() == 0);
  return 0;
}
