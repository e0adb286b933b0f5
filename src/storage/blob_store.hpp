// Blob store for media (MMS, voicemail, greetings): a local directory by
// default; an S3-compatible implementation comes later behind the same
// interface.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace rh::storage {

struct BlobInfo {
  std::string key;
  std::uint64_t size = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  // Stores bytes under key; durable (fsynced) when it returns ok.
  virtual Status put(std::string_view key, std::string_view bytes) = 0;
  virtual Result<std::string> get(std::string_view key) = 0;
  virtual Result<BlobInfo> stat(std::string_view key) = 0;
  // Removing a missing key is not an error.
  virtual Status remove(std::string_view key) = 0;
};

// Keys are relative paths of [A-Za-z0-9._-] segments separated by '/', with
// no empty, "." or ".." segment, at most 512 bytes.
bool valid_blob_key(std::string_view key);

std::unique_ptr<BlobStore> open_local_blob_store(std::string dir);

}  // namespace rh::storage
