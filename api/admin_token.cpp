#include "api/admin_token.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

namespace herald::api {

namespace {

token_error system_error(const std::string& what, const std::string& path) {
  return token_error{what + " " + path + ": " + std::strerror(errno)};
}

} // namespace

result<std::string, token_error> admin_token(const std::string& configured,
                                             const std::string& path) {
  if (!configured.empty()) return configured;
  if (sodium_init() < 0) return token_error{"libsodium failed to initialise"};
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::ifstream in{path};
    std::string token;
    if (!in || !std::getline(in, token))
      return token_error{"cannot read the admin token from " + path};
    while (!token.empty() && (token.back() == '\r' || token.back() == ' '))
      token.pop_back();
    if (token.size() < 16)
      return token_error{"the admin token in " + path +
                         " is shorter than 16 characters"};
    return token;
  }
  auto dir = std::filesystem::path{path}.parent_path();
  if (!dir.empty()) {
    std::filesystem::create_directories(dir, ec);
    if (ec)
      return token_error{"cannot create " + dir.string() + ": " + ec.message()};
  }
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  std::string token(2 * sizeof raw + 1, '\0');
  sodium_bin2hex(token.data(), token.size(), raw, sizeof raw);
  token.pop_back(); // the terminating NUL
  sodium_memzero(raw, sizeof raw);
  // Created with 0600 from the start: never readable by others, not even
  // for a moment.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return system_error("cannot create", path);
  auto line = token + "\n";
  bool ok =
    ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ok = (::fsync(fd) == 0) && ok;
  if (::close(fd) != 0 || !ok) return system_error("cannot write", path);
  return token;
}

} // namespace herald::api
