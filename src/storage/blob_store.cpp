#include "storage/blob_store.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/crypto.hpp"

namespace rh::storage {

namespace fs = std::filesystem;

bool valid_blob_key(std::string_view key) {
  if (key.empty() || key.size() > 512) return false;
  std::size_t start = 0;
  while (start <= key.size()) {
    auto end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    auto seg = key.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    for (char c : seg) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-';
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}

namespace {

Error io_error(std::string_view what, const std::string& path, int err) {
  return Error(Errc::unavailable, fmt::format("blob {} {}: {}", what, path, std::strerror(err)));
}

Status fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("open dir", dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return io_error("fsync dir", dir, err);
  return {};
}

class LocalBlobStore final : public BlobStore {
 public:
  explicit LocalBlobStore(std::string dir) : root_(std::move(dir)) {}

  Status put(std::string_view key, std::string_view bytes) override {
    if (!valid_blob_key(key)) return Error(Errc::invalid_argument, "invalid blob key");
    fs::path final_path = root_ / std::string(key);
    std::error_code ec;
    fs::create_directories(final_path.parent_path(), ec);
    if (ec) return Error(Errc::unavailable, "blob mkdir: " + ec.message());
    fs::path tmp = final_path;
    tmp += ".tmp-" + crypto::hex_encode(crypto::random_bytes(6));
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) return io_error("create", tmp, errno);
    std::size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return io_error("write", tmp, err);
      }
      off += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return io_error("fsync", tmp, err);
    }
    ::close(fd);
    if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return io_error("rename", final_path, err);
    }
    return fsync_dir(final_path.parent_path());
  }

  Result<std::string> get(std::string_view key) override {
    if (!valid_blob_key(key)) return Error(Errc::invalid_argument, "invalid blob key");
    fs::path p = root_ / std::string(key);
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return Error(Errc::not_found, "no such blob");
      return io_error("open", p, errno);
    }
    std::string out;
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        return io_error("read", p, err);
      }
      if (n == 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
  }

  Result<BlobInfo> stat(std::string_view key) override {
    if (!valid_blob_key(key)) return Error(Errc::invalid_argument, "invalid blob key");
    fs::path p = root_ / std::string(key);
    struct stat sb {};
    if (::stat(p.c_str(), &sb) != 0) {
      if (errno == ENOENT) return Error(Errc::not_found, "no such blob");
      return io_error("stat", p, errno);
    }
    return BlobInfo{std::string(key), static_cast<std::uint64_t>(sb.st_size)};
  }

  Status remove(std::string_view key) override {
    if (!valid_blob_key(key)) return Error(Errc::invalid_argument, "invalid blob key");
    fs::path p = root_ / std::string(key);
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) return io_error("unlink", p, errno);
    return {};
  }

 private:
  fs::path root_;
};

}  // namespace

std::unique_ptr<BlobStore> open_local_blob_store(std::string dir) {
  return std::make_unique<LocalBlobStore>(std::move(dir));
}

}  // namespace rh::storage
