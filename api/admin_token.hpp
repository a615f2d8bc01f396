#pragma once

#include <string>

#include "engine/result.hpp"

namespace herald::api {

/// Why the admin token could not be had.
struct token_error {
  std::string message;
};

/// The admin token: `configured` when not empty; else the one in `path`;
/// else a new one (32 random bytes, hex) written to `path` with mode 0600
/// (its directory created). An error says what failed with which file.
result<std::string, token_error> admin_token(const std::string& configured,
                                             const std::string& path);

} // namespace herald::api
