#include "storage/blob_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "core/crypto.hpp"
#include "support/test_db.hpp"

namespace rh::storage {
namespace {

namespace fs = std::filesystem;

class BlobStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    crypto::init();
    dir_ = test::make_temp_dir("rh-blobs");
    store_ = open_local_blob_store(dir_);
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Every file under the store's directory, relative to it.
  std::vector<std::string> files() {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir_)) {
      if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir_).string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string dir_;
  std::unique_ptr<BlobStore> store_;
};

TEST_F(BlobStoreTest, PutGetStatRemove) {
  const std::string bytes("voice\0mail\xff", 11);
  ASSERT_TRUE(store_->put("tenants/ten_1/voicemail/vm_1.wav", bytes).ok());

  auto got = store_->get("tenants/ten_1/voicemail/vm_1.wav");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(*got, bytes);

  auto info = store_->stat("tenants/ten_1/voicemail/vm_1.wav");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->key, "tenants/ten_1/voicemail/vm_1.wav");
  EXPECT_EQ(info->size, bytes.size());

  // The blob is a plain file under the directory, at its key.
  std::ifstream in(fs::path(dir_) / "tenants/ten_1/voicemail/vm_1.wav", std::ios::binary);
  std::string on_disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(on_disk, bytes);

  ASSERT_TRUE(store_->remove("tenants/ten_1/voicemail/vm_1.wav").ok());
  auto gone = store_->get("tenants/ten_1/voicemail/vm_1.wav");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, Errc::not_found);
  auto gone_stat = store_->stat("tenants/ten_1/voicemail/vm_1.wav");
  ASSERT_FALSE(gone_stat.ok());
  EXPECT_EQ(gone_stat.error().code, Errc::not_found);
  // Removing a missing key is not an error.
  EXPECT_TRUE(store_->remove("tenants/ten_1/voicemail/vm_1.wav").ok());
}

TEST_F(BlobStoreTest, PutReplacesAndEmptyBlobsWork) {
  ASSERT_TRUE(store_->put("a.bin", std::string(100000, 'x')).ok());
  ASSERT_TRUE(store_->put("a.bin", "short").ok());
  EXPECT_EQ(*store_->get("a.bin"), "short");
  EXPECT_EQ(store_->stat("a.bin")->size, 5u);
  ASSERT_TRUE(store_->put("empty", "").ok());
  auto e = store_->get("empty");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, "");
}

TEST_F(BlobStoreTest, PutLeavesNoTemporaryFiles) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_->put("m/x.jpg", std::string(1000 + static_cast<std::size_t>(i), 'a')).ok());
  }
  ASSERT_TRUE(store_->put("m/y.jpg", "y").ok());
  EXPECT_EQ(files(), (std::vector<std::string>{"m/x.jpg", "m/y.jpg"}));
}

TEST_F(BlobStoreTest, InvalidKeysAreRejectedByEveryOperation) {
  // Write a file outside the store that a traversal would reach.
  const std::string outside = fs::path(dir_).filename().string() + "-outside";
  for (const std::string& key :
       {std::string(""), std::string("../") + outside, std::string("a/../../") + outside,
        std::string("/etc/passwd"), std::string("a//b"), std::string("a/"), std::string("./a"),
        std::string("a/./b"), std::string(".."), std::string("."), std::string("a b"),
        std::string("a\\b"), std::string("caf\xc3\xa9"), std::string("a\0b", 3),
        std::string(513, 'a')}) {
    SCOPED_TRACE(key);
    Status put = store_->put(key, "x");
    ASSERT_FALSE(put.ok());
    EXPECT_EQ(put.error().code, Errc::invalid_argument);
    auto get = store_->get(key);
    ASSERT_FALSE(get.ok());
    EXPECT_EQ(get.error().code, Errc::invalid_argument);
    auto st = store_->stat(key);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, Errc::invalid_argument);
    Status rm = store_->remove(key);
    ASSERT_FALSE(rm.ok());
    EXPECT_EQ(rm.error().code, Errc::invalid_argument);
  }
  EXPECT_TRUE(files().empty());
  EXPECT_FALSE(fs::exists(fs::path(dir_).parent_path() / outside));
}

TEST_F(BlobStoreTest, ValidKeys) {
  EXPECT_TRUE(valid_blob_key("a"));
  EXPECT_TRUE(valid_blob_key("A-z_0.9/b..c/.hidden"));
  EXPECT_TRUE(valid_blob_key(std::string(512, 'a')));
  EXPECT_FALSE(valid_blob_key(std::string(513, 'a')));
  EXPECT_TRUE(store_->put(std::string(200, 'k') + "/" + std::string(200, 'v'), "ok").ok());
}

}  // namespace
}  // namespace rh::storage
