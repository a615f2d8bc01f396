#pragma once

// The request and response types of herald's HTTP API (Beast, string bodies).

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace herald::api {

namespace http = boost::beast::http;

using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

} // namespace herald::api
