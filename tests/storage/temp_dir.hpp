#pragma once

#include <filesystem>
#include <random>
#include <string>

namespace herald::test {

/// A fresh directory under the system temp dir, removed with everything in it.
class temp_dir {
 public:
  temp_dir() {
    std::random_device rd;
    path_ =
      std::filesystem::temp_directory_path() /
      ("herald-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str(const std::string& sub = "db") const {
    return (path_ / sub).string();
  }

 private:
  std::filesystem::path path_;
};

} // namespace herald::test
