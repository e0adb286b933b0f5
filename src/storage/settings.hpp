// Config keys of storage: [storage] and [blobs].
#pragma once
#include <memory>

#include "core/config.hpp"
#include "storage/blob_store.hpp"
#include "storage/database.hpp"
namespace rh::storage {
void declare_config(config::Schema& s);
// Opens the configured database (data_dir resolves the SQLite default path).
Result<std::unique_ptr<Database>> open_database(const config::Config& c);
std::unique_ptr<BlobStore> open_blob_store(const config::Config& c);
}  // namespace rh::storage
